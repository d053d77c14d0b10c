using System.Runtime.InteropServices;
using ModelForge.Convert.Emit;
using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;

namespace ModelForge.Convert.Tests.Emit;

/// <summary>
/// BatchNorm folding computes the folded Conv/Gemm weights when the writer streams them (<see cref="ScaledWeight"/>):
/// the bytes must be those of multiplying a copy of the weight in place, and folding must not hold them in memory.
/// </summary>
public sealed class FoldedWeightTests
{
    [Theory]
    [InlineData("resnet18_small", new[] { 3, 64, 64 }, 10)] // Conv + BatchNorm2d
    [InlineData("mlp_batchnorm1d_small", new[] { 12 }, 2)] // Gemm (transB) + BatchNorm1d
    public void Streamed_folded_weights_equal_the_weights_scaled_in_place(string fixture, int[] inputDims, int minimumFolds)
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", fixture, "model.pt"),
            new ConvertOptions([new InputSpec("x", DataType.Float32, [Dim.Named("batch"), .. inputDims.Select(d => (Dim)d)])]) { Optimize = OptimizeLevel.Basic });
        var graph = result.Graph;
        new MatMulAddToGemmPass().Run(graph, new PassContext(17));
        var expected = new Dictionary<Node, byte[]>(ReferenceEqualityComparer.Instance);
        foreach (var bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization"))
            if (bn.Inputs[0]!.Producer is { OpType: "Conv" or "Gemm" } producer)
                expected[producer] = ScaledInPlace(producer, bn);
        Assert.True(expected.Count >= minimumFolds, $"{fixture}: expected at least {minimumFolds} Conv/Gemm + BatchNorm pairs, found {expected.Count}");

        Assert.True(new FoldBatchNormPass().Run(graph, new PassContext(17)));

        using var weights = new WeightStreamer();
        foreach (var (producer, bytes) in expected)
        {
            var folded = producer.Inputs[1]!.Constant!.Bytes;
            Assert.True(MemoryMarshal.TryGetMemoryManager<byte, ScaledWeight>(folded, out _), $"{producer.Name}: the folded weight was materialised by the pass");
            using var streamed = new MemoryStream();
            weights.Copy(folded, streamed.Write);
            Assert.Equal(bytes, streamed.ToArray());
            Assert.Equal(bytes, folded.ToArray());
        }
    }

    [Fact]
    public void Folding_and_writing_a_large_weight_allocate_far_less_than_the_weight()
    {
        const int outChannels = 256, inChannels = 128, kernel = 16; // 32 MiB of float32 weights
        var b = new Graph { Name = "test" };
        var x = b.AddInput("x", TensorType.Of(DataType.Float32, [Dim.Named("batch"), inChannels, kernel, kernel]));
        var weight = b.AddInitializer("w", Floats([outChannels, inChannels, kernel, kernel], i => (i % 97) * 0.01f));
        var conv = b.AddNode("Conv", [x, weight], [TensorType.Of(DataType.Float32, [Dim.Named("batch"), outChannels, 1, 1])], null, "", null);
        var bn = b.AddNode("BatchNormalization",
            [conv.Outputs[0], Param(b, "gamma", 1.5f), Param(b, "beta", 0.25f), Param(b, "mean", 0.5f), Param(b, "var", 4f)],
            [conv.Outputs[0].Type], null, "", null);
        b.AddOutput(bn.Outputs[0], "y");
        var weightBytes = weight.Constant!.Bytes.Length;

        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(new FoldBatchNormPass().Run(b, new PassContext(17)));
        var folding = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(folding < weightBytes / 16, $"folding allocated {folding} bytes for a {weightBytes}-byte weight");

        var model = OnnxEmitter.Emit(b, 17);
        before = GC.GetAllocatedBytesForCurrentThread();
        OnnxFileWriter.Write(model, Stream.Null);
        var writing = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(writing < weightBytes / 8, $"writing allocated {writing} bytes for a {weightBytes}-byte folded weight");
    }

    /// <summary>
    /// The folding as it was before it streamed, spelled out: s = γ/√(var + ε) in double rounded to float, then each
    /// element of a copy of the weight multiplied in place by s of its output channel (Gemm: by α·s, rows with transB).
    /// </summary>
    private static byte[] ScaledInPlace(Node producer, Node bn)
    {
        float[] Input(int i) => MemoryMarshal.Cast<byte, float>(bn.Inputs[i]!.Constant!.Bytes.Span).ToArray();
        var (gamma, variance) = (Input(1), Input(4));
        var epsilon = bn.Attributes.TryGetValue("epsilon", out var e) ? (double)e.Value : 1e-5;
        var s = gamma.Select((g, c) => (float)(g / Math.Sqrt(variance[c] + (float)epsilon))).ToArray();
        var weight = producer.Inputs[1]!.Constant!;
        var bytes = weight.Bytes.ToArray();
        var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        if (producer.OpType == "Conv")
        {
            var perChannel = values.Length / s.Length;
            for (var i = 0; i < values.Length; i++) values[i] *= s[i / perChannel];
            return bytes;
        }
        var alpha = producer.Attributes.TryGetValue("alpha", out var a) ? (float)(double)a.Value : 1f;
        var transB = producer.Attributes.TryGetValue("transB", out var t) && (long)t.Value != 0;
        var cols = (int)weight.Shape[1];
        for (var i = 0; i < values.Length; i++) values[i] *= alpha * s[transB ? i / cols : i % cols];
        return bytes;
    }

    private static ConstantData Floats(long[] shape, Func<int, float> value)
    {
        var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
        for (var i = 0; i < values.Length; i++) values[i] = value(i);
        return new ConstantData(DataType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    private static Value Param(Graph graph, string name, float value) => graph.AddInitializer(name, Floats([256], i => value + i * 1e-3f));
}
