using System.Runtime.InteropServices;
using ModelForge.Convert.Emit;

namespace ModelForge.Convert.Passes;

/// <summary>
/// A float32 weight times a per-channel factor, computed when it is written: element i of <paramref name="source"/> is
/// multiplied by <c>factors[(i / inner) % factors.Length]</c> (one float32 multiplication, as an in-place loop would).
/// Only the factors are held; the source stays a view on the archive.
/// </summary>
internal sealed class ScaledWeight(ReadOnlyMemory<byte> source, float[] factors, long inner) : ComputedBytes(source.Length)
{
    public override void WriteTo(WeightStreamer.ChunkSink sink, WeightStreamer weights)
    {
        // Source chunks can end inside a float: they are gathered into whole-float blocks before scaling.
        var block = new byte[Math.Min(WeightStreamer.ChunkBytes, Math.Max(Length, sizeof(float)))];
        var filled = 0;
        long element = 0;
        void Flush()
        {
            var values = MemoryMarshal.Cast<byte, float>(block.AsSpan(0, filled));
            for (var i = 0; i < values.Length; i++) values[i] *= factors[(element + i) / inner % factors.Length];
            element += values.Length;
            sink(block.AsSpan(0, filled));
            filled = 0;
        }
        weights.Copy(source, chunk =>
        {
            while (!chunk.IsEmpty)
            {
                var take = Math.Min(chunk.Length, block.Length - filled);
                chunk[..take].CopyTo(block.AsSpan(filled));
                filled += take;
                chunk = chunk[take..];
                if (filled == block.Length) Flush();
            }
        });
        if (filled > 0) Flush();
    }
}
