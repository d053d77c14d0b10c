using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace ModelForge.Optimize.Onnx;

/// <summary>
/// An ONNX external data file mapped read-only into memory, so that its tensors become <c>raw_data</c> without being
/// read into the heap: a rewrite reads the pages it needs from the page cache, the kernel can drop clean pages again,
/// and ONNX Runtime can be pointed at the same file (<see cref="OnnxModelFile.ForOnnxRuntime"/>) instead of at a copy.
/// The mapping lives as long as a tensor refers to it: each region holds the file, and the view's handle unmaps when
/// the garbage collector finalizes it, so no tensor can outlive its bytes.
/// </summary>
internal sealed unsafe class MappedExternalData
{
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _start;

    /// <param name="folder">The model's folder, which <paramref name="location"/> is relative to.</param>
    public MappedExternalData(string folder, string location)
    {
        Folder = folder;
        Location = location;
        var path = Path.Combine(folder, location);
        Length = new FileInfo(path).Length;
        if (Length == 0) return;  // an empty file cannot be mapped, and holds no tensor bytes
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        _start = (byte*)_view.SafeMemoryMappedViewHandle.DangerousGetHandle() + _view.PointerOffset;
    }

    public string Folder { get; }

    /// <summary>The file's name as the model's tensors give it (relative to <see cref="Folder"/>).</summary>
    public string Location { get; }

    public long Length { get; }

    /// <summary>The bytes [offset, offset + length) as a <c>raw_data</c> value, without a copy.</summary>
    public ByteString Tensor(long offset, int length) =>
        length == 0 ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(new Region(this, offset, length).Memory);

    /// <summary>Where <paramref name="rawData"/> lies in a mapped file, when it is still a mapped region (not a rewrite's new bytes).</summary>
    public static bool TryLocate(ByteString rawData, out MappedExternalData file, out long offset)
    {
        if (MemoryMarshal.TryGetMemoryManager<byte, Region>(rawData.Memory, out var region, out var start, out var length)
            && start == 0 && length == region.Length)
        {
            (file, offset) = (region.File, region.Offset);
            return true;
        }
        (file, offset) = (null!, 0);
        return false;
    }

    /// <summary>One tensor's bytes inside the mapping; it keeps the mapping alive while the tensor is.</summary>
    private sealed class Region(MappedExternalData file, long offset, int length) : MemoryManager<byte>
    {
        public MappedExternalData File => file;
        public long Offset => offset;
        public int Length => length;

        public override Span<byte> GetSpan() => new(file._start + offset, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(file._start + offset + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
