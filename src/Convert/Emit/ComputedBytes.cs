using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Constant bytes that are computed from other constants when they are written, not stored: the writer streams them
/// chunk by chunk (<see cref="WriteTo"/>), so a pass can make a new weight from an archive weight without the result
/// ever being resident. Anything else that reads the memory (a span, a pin) gets the whole result, computed once by the
/// same code and then kept.
/// </summary>
internal abstract unsafe class ComputedBytes(int length) : MemoryManager<byte>
{
    private byte[]? _whole;

    public int Length { get; } = length;

    /// <summary>Passes every byte, in order, to <paramref name="sink"/>; <paramref name="weights"/> reads the source constants.</summary>
    public abstract void WriteTo(WeightStreamer.ChunkSink sink, WeightStreamer weights);

    /// <summary>The base class would take the length from <see cref="GetSpan"/>, computing everything.</summary>
    public override Memory<byte> Memory => CreateMemory(Length);

    public override Span<byte> GetSpan() => Whole();

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)Length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
        // The array is allocated pinned, so the pointer stays valid without a GC handle.
        return new MemoryHandle(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Whole()), elementIndex)));
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }

    private byte[] Whole()
    {
        if (_whole is { } done) return done;
        var whole = GC.AllocateUninitializedArray<byte>(Length, pinned: true);
        var filled = 0;
        using (var weights = new WeightStreamer())
            WriteTo(chunk => { chunk.CopyTo(whole.AsSpan(filled)); filled += chunk.Length; }, weights);
        if (filled != Length) throw new InvalidOperationException($"computed constant produced {filled} bytes, expected {Length}");
        return Interlocked.CompareExchange(ref _whole, whole, null) ?? whole;
    }
}
