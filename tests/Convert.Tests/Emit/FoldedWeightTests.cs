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
    [Fact]
    public void Streamed_folded_weights_equal_the_weights_scaled_in_place()
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "resnet18_small", "model.pt"),
            new ConvertOptions([new InputSpec("x", DataType.Float32, [Dim.Named("batch"), 3, 64, 64])]) { Optimize = OptimizeLevel.Basic });
        var graph = result.Graph;
        var expected = new Dictionary<Node, byte[]>(ReferenceEqualityComparer.Instance);
        foreach (var bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization"))
            if (bn.Inputs[0]!.Producer is { OpType: "Conv" } conv)
                expected[conv] = ScaledInPlace(conv.Inputs[1]!.Constant!, bn);
        Assert.True(expected.Count >= 10, $"resnet18_small should have a BatchNorm after most Convs, found {expected.Count}");

        Assert.True(new FoldBatchNormPass().Run(graph, new PassContext(17)));

        using var weights = new WeightStreamer();
        foreach (var (conv, bytes) in expected)
        {
            var folded = conv.Inputs[1]!.Constant!.Bytes;
            Assert.True(MemoryMarshal.TryGetMemoryManager<byte, ScaledWeight>(folded, out _), $"{conv.Name}: the folded weight was materialised by the pass");
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

    /// <summary>Today's arithmetic spelled out: s = γ/√(var + ε) in double rounded to float, then w·s in float per element.</summary>
    private static byte[] ScaledInPlace(ConstantData weight, Node bn)
    {
        float[] Input(int i) => MemoryMarshal.Cast<byte, float>(bn.Inputs[i]!.Constant!.Bytes.Span).ToArray();
        var (gamma, variance) = (Input(1), Input(4));
        var epsilon = bn.Attributes.TryGetValue("epsilon", out var e) ? (double)e.Value : 1e-5;
        var bytes = weight.Bytes.ToArray();
        var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        var perChannel = values.Length / gamma.Length;
        for (var i = 0; i < values.Length; i++)
        {
            var c = i / perChannel;
            values[i] *= (float)(gamma[c] / Math.Sqrt(variance[c] + (float)epsilon));
        }
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
