using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

public class OrtRunnerTests
{
    private static string TinyModel => Path.Combine(Path.Combine(RepoPaths.Root, "tests", "Ops.Tests", "Infrastructure", "TestData"), "tiny_linear.onnx");

    // Mirrors TestData/make_tiny_models.py: y = relu(x @ W^T + b), argmax(y, 1), y > 0.
    private static readonly float[,] W = { { 1.0f, -1.0f, 0.5f }, { 0.25f, 2.0f, -1.0f } };
    private static readonly float[] B = [0.5f, -0.25f];

    [Fact]
    public void RunsExportedModelWithDynamicBatch()
    {
        float[] x = [1, 2, 3, -1, 0.5f, 2, 0, 0, 0, 4, -3, 1];
        const int batch = 4;
        var outputs = OrtRunner.Run(TinyModel, new Dictionary<string, NdArray> { ["x"] = NdArray.FromFloat32(x, batch, 3) });

        Assert.Equal(3, outputs.Length);
        var y = new float[batch * 2];
        var argmax = new long[batch];
        var positive = new bool[batch * 2];
        for (int n = 0; n < batch; n++)
        {
            for (int o = 0; o < 2; o++)
            {
                float v = B[o];
                for (int k = 0; k < 3; k++) v += x[n * 3 + k] * W[o, k];
                y[n * 2 + o] = Math.Max(v, 0);
                positive[n * 2 + o] = y[n * 2 + o] > 0;
            }
            argmax[n] = y[n * 2 + 1] > y[n * 2] ? 1 : 0;
        }
        Closeness.AssertClose(NdArray.FromFloat32(y, batch, 2), outputs[0], 1e-6, 1e-6, "y");
        Closeness.AssertClose(NdArray.FromInt64(argmax, batch), outputs[1], 0, 0, "argmax");
        Closeness.AssertClose(NdArray.FromBool(positive, batch, 2), outputs[2], 0, 0, "positive");
        Assert.Equal("int64", outputs[1].DType);
        Assert.Equal("bool", outputs[2].DType);
    }

    [Fact]
    public void RunsFromBytesAndReportsGraphNames()
    {
        using var runner = new OrtRunner(File.ReadAllBytes(TinyModel));
        Assert.Equal(["x"], runner.InputNames);
        Assert.Equal(["y", "argmax", "positive"], runner.OutputNames);
        var outputs = runner.Run(new Dictionary<string, NdArray> { ["x"] = NdArray.FromFloat32([0, 0, 0], 1, 3) });
        Closeness.AssertClose(NdArray.FromFloat32([0.5f, 0f], 1, 2), outputs[0], 0, 0, "y");
    }

    [Fact]
    public void MissingInputIsReported()
    {
        using var runner = new OrtRunner(TinyModel);
        var e = Assert.Throws<ArgumentException>(() => runner.Run(new Dictionary<string, NdArray>()));
        Assert.Contains("x", e.Message);
    }
}
