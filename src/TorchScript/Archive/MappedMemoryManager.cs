using System.Buffers;

namespace ModelForge.TorchScript.Archive;

/// <summary>
/// Exposes a range of the archive's memory-mapped view as <see cref="Memory{T}"/> without copying. The mapping
/// belongs to the <see cref="TorchScriptArchive"/>; using the memory after the archive is disposed throws
/// <see cref="ObjectDisposedException"/> (spans taken earlier must not outlive the archive).
/// </summary>
internal sealed unsafe class MappedMemoryManager : MemoryManager<byte>
{
    private readonly TorchScriptArchive _owner;
    private readonly byte* _pointer;
    private readonly int _length;

    public MappedMemoryManager(TorchScriptArchive owner, byte* pointer, long fileOffset, int length)
    {
        _owner = owner;
        _pointer = pointer;
        FileOffset = fileOffset;
        _length = length;
    }

    /// <summary>Where this memory starts in the archive file, so writers can copy it with file reads instead of touching the mapping.</summary>
    public long FileOffset { get; }

    /// <summary>The archive whose mapped file backs this memory.</summary>
    public TorchScriptArchive Owner => _owner;

    public override Span<byte> GetSpan()
    {
        _owner.ThrowIfDisposed();
        return new Span<byte>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        _owner.ThrowIfDisposed();
        if ((uint)elementIndex > (uint)_length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
