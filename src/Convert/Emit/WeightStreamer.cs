using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using ModelForge.TorchScript.Archive;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Passes constant bytes on chunk by chunk without making them resident: archive weights are read from the archive file
/// through one 1 MiB buffer (not through the mapping, which would keep every page in this process),
/// <see cref="ComputedBytes"/> are computed as they go, anything else is already in memory and passed as it is.
/// </summary>
internal sealed class WeightStreamer : IDisposable
{
    /// <summary>Receives the next chunk; the span is only valid during the call.</summary>
    public delegate void ChunkSink(ReadOnlySpan<byte> chunk);

    public const int ChunkBytes = 1 << 20;

    private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);
    private byte[]? _buffer;

    public void Copy(ReadOnlyMemory<byte> raw, ChunkSink sink)
    {
        if (MemoryMarshal.TryGetMemoryManager<byte, ComputedBytes>(raw, out var computed, out var start, out var length)
            && start == 0 && length == computed.Length)
        {
            computed.WriteTo(sink, this);
            return;
        }
        if (!MemoryMarshal.TryGetMemoryManager<byte, MappedMemoryManager>(raw, out var mapped, out start, out length))
        {
            sink(raw.Span);
            return;
        }
        var handle = Open(mapped.Owner.FilePath);
        var offset = mapped.FileOffset + start;
        // Nested copies (a computed weight reading its source) never use the buffer at the same time: the outer copy
        // handed its whole range to the computed weight.
        var buffer = _buffer ??= new byte[ChunkBytes];
        for (var done = 0; done < length;)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, Math.Min(buffer.Length, length - done)), offset + done);
            if (read <= 0) throw new EndOfStreamException($"'{mapped.Owner.FilePath}' ended while copying a weight; was it changed during the conversion?");
            sink(buffer.AsSpan(0, read));
            done += read;
        }
    }

    private SafeFileHandle Open(string path)
    {
        if (!_handles.TryGetValue(path, out var handle))
            _handles[path] = handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        return handle;
    }

    public void Dispose()
    {
        foreach (var handle in _handles.Values) handle.Dispose();
    }
}
