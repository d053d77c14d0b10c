using ModelForge.Optimize.Int8;
using Onnx;
using Xunit.Abstractions;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>
/// Each quantized pattern runs in real ONNX Runtime, matches the fp32 model within an int8 tolerance on inputs not used
/// for calibration, and is fused by ORT into its integer kernels (read from ORT's optimized-model output).
/// </summary>
public sealed class QdqPatternTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-int8-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (string Fp32, string Int8) Quantize(ModelProto model, string name, QuantizationFormat? format = null)
    {
        var fp32 = Path.Combine(_directory, name + ".onnx");
        File.WriteAllBytes(fp32, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var int8 = Path.Combine(_directory, name + ".int8.onnx");
        Int8File.Quantize(fp32, int8, new Int8Options { CalibrationSamples = 32, Format = format }, _ => { });
        return (fp32, int8);
    }

    private void AssertMatchesFp32(string fp32, string int8)
    {
        var expected = OrtRuns.Run(fp32, 8, seed: 1234);
        var actual = OrtRuns.Run(int8, 8, seed: 1234);
        var cosine = OrtRuns.Cosine(expected, actual);
        var maxAbs = expected.Max(Math.Abs);
        var maxError = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        log.WriteLine($"cosine {cosine:F5}, max error {maxError:G4} of max |y| {maxAbs:G4}");
        Assert.True(cosine >= 0.995, $"cosine {cosine}");
        Assert.True(maxError <= 0.05 * maxAbs, $"max error {maxError} > 5% of {maxAbs}");
    }

    private IReadOnlyList<string> OptimizedOps(string int8)
    {
        var ops = OrtRuns.OptimizedOps(int8);
        log.WriteLine(string.Join(" ", ops));
        return ops;
    }

    [Fact]
    public void Conv_relu_pooling_and_gemm_run_as_integer_kernels()
    {
        var (fp32, int8) = Quantize(TinyModels.ConvNet(), "convnet");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(2, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearGlobalAveragePool", ops);
        Assert.Contains("QGemm", ops);
        Assert.DoesNotContain("Relu", ops);
        Assert.DoesNotContain("Conv", ops);
        // MaxPool and Flatten run on the uint8 data: no DequantizeLinear is left between the integer kernels.
        Assert.DoesNotContain("DequantizeLinear", ops);
    }

    [Fact]
    public void A_residual_add_runs_as_qlinear_add()
    {
        var (fp32, int8) = Quantize(TinyModels.Residual(), "residual");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(2, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearAdd", ops);
        Assert.Contains("QLinearAveragePool", ops);
        Assert.DoesNotContain("Add", ops);
    }

    [Fact]
    public void Concat_inputs_share_one_scale_and_run_as_qlinear_concat()
    {
        var (fp32, int8) = Quantize(TinyModels.Concat(), "concat");
        AssertMatchesFp32(fp32, int8);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(int8));
        float Scale(string tensor) => QdqRewriter.Floats(model.Graph.Initializer.Single(t => t.Name == tensor + "_scale"))[0];
        Assert.Equal(Scale("cat"), Scale("a"));
        Assert.Equal(Scale("cat"), Scale("b"));
        var ops = OptimizedOps(int8);
        Assert.Equal(3, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearConcat", ops);
    }

    [Fact]
    public void Matmul_with_a_constant_weight_runs_as_an_integer_matmul()
    {
        var (fp32, int8) = Quantize(TinyModels.MatMul(), "matmul");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.DoesNotContain("MatMul", ops);
        Assert.True(ops.Count(op => op is "QLinearMatMul" or "MatMulIntegerToFloat" or "MatMulInteger") == 3, string.Join(" ", ops));
        Assert.Contains("QLinearAdd", ops);
        Assert.DoesNotContain("DequantizeLinear", ops);
    }

    [Fact]
    public void A_relu_after_a_float_output_gemm_is_kept()
    {
        var (fp32, int8) = Quantize(TinyModels.GemmRelu(), "gemm_relu");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Contains("QGemm", ops);
        Assert.Contains("Relu", ops);
    }

    [Fact]
    public void Reduce_range_weights_run_as_integer_kernels_too()
    {
        var (fp32, int8) = Quantize(TinyModels.Residual(), "residual", new QuantizationFormat(ActivationType.UInt8, true, "test"));
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(2, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearAdd", ops);
    }

    [Fact]
    public void Silu_runs_as_qlinear_sigmoid_and_qlinear_mul_between_integer_convs()
    {
        var (fp32, int8) = Quantize(TinyModels.Silu(), "silu");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(2, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearSigmoid", ops);
        Assert.Contains("QLinearMul", ops);
        Assert.DoesNotContain("Sigmoid", ops);
        Assert.DoesNotContain("Mul", ops);
        // Only the graph output is dequantized: no float round trip inside the block.
        Assert.Equal(1, ops.Count(op => op == "DequantizeLinear"));
    }

    [Fact]
    public void Squeeze_excitation_stays_int8_from_the_pool_to_the_channel_scaling()
    {
        var (fp32, int8) = Quantize(TinyModels.SqueezeExcitation(), "se");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(4, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearGlobalAveragePool", ops);
        Assert.Contains("QLinearSigmoid", ops);
        Assert.Contains("QLinearMul", ops);
        Assert.DoesNotContain("Relu", ops);
        Assert.Equal(1, ops.Count(op => op == "DequantizeLinear"));
    }

    [Fact]
    public void A_clip_from_zero_is_folded_into_its_conv_and_still_clamps()
    {
        var (fp32, int8) = Quantize(TinyModels.ClipFromZero(), "clip");
        AssertMatchesFp32(fp32, int8);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(int8));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Clip");
        Assert.DoesNotContain(model.Graph.Initializer, t => t.Name is "low" or "high"); // the bounds went with the Clips
        // The folded Conv's quantized range ends at the clamp's bound (calibrated on the Clip's output).
        var scale = QdqRewriter.Floats(model.Graph.Initializer.Single(t => t.Name == "r1_scale"))[0];
        Assert.InRange(scale * 255, 0.29f, 0.3001f);
        var ops = OptimizedOps(int8);
        Assert.Equal(3, ops.Count(op => op == "QLinearConv"));
        Assert.Equal(1, ops.Count(op => op == "DequantizeLinear"));
    }

    [Fact]
    public void Leaky_relu_runs_as_qlinear_leaky_relu()
    {
        var (fp32, int8) = Quantize(TinyModels.LeakyRelu(), "leaky");
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Equal(2, ops.Count(op => op == "QLinearConv"));
        Assert.Contains("QLinearLeakyRelu", ops);
        Assert.DoesNotContain("LeakyRelu", ops);
    }

    /// <summary>
    /// int8 activations (S8S8) compute the same values, but ORT's x86 CPU kernels fuse fewer of them: here the first
    /// Conv (whose input also feeds the Add) and the Add stay float. That is why uint8 is the default.
    /// </summary>
    [Fact]
    public void Int8_activations_match_but_fuse_less_on_x86()
    {
        var (fp32, int8) = Quantize(TinyModels.Residual(), "residual", new QuantizationFormat(ActivationType.Int8, false, "test"));
        AssertMatchesFp32(fp32, int8);
        var ops = OptimizedOps(int8);
        Assert.Contains("QLinearConv", ops);
    }
}
