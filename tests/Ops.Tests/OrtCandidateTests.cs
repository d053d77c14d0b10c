using ModelForge.Convert.IR;
using ModelForge.Ops.Tests.Infrastructure;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;

namespace ModelForge.Ops.Tests;

/// <summary>
/// <see cref="OrtCandidate"/> on the CPU provider with a model exported by torch.onnx rather than by ModelForge:
/// dynamic batch, several outputs, and int64 and bool outputs (none of the fixtures has those).
/// </summary>
public class OrtCandidateTests
{
    private static string TinyModel => Path.Combine(RepoPaths.Root, "tests", "Ops.Tests", "Infrastructure", "TestData", "tiny_linear.onnx");

    // Mirrors TestData/make_tiny_models.py: y = relu(x @ W^T + b), argmax(y, 1), y > 0.
    private static readonly float[,] W = { { 1.0f, -1.0f, 0.5f }, { 0.25f, 2.0f, -1.0f } };
    private static readonly float[] B = [0.5f, -0.25f];

    private static OrtCandidate OpenTinyModel() =>
        OrtCandidate.TryCreate(CandidateKind.Cpu, TinyModel, out var reason)
        ?? throw new InvalidOperationException($"the CPU candidate is unavailable: {reason}");

    [Fact]
    public void RunsExportedModelWithDynamicBatch()
    {
        float[] x = [1, 2, 3, -1, 0.5f, 2, 0, 0, 0, 4, -3, 1];
        const int batch = 4;
        using var candidate = OpenTinyModel();
        var outputs = candidate.Run([HostTensor.FromFloats(x, batch, 3)]);

        Assert.Equal(3, outputs.Count);
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
        ParityCheck.AssertClose(HostTensor.FromFloats(y, batch, 2), outputs[0], 1e-6, 1e-6, "y");
        ParityCheck.AssertClose(HostTensor.FromInt64s(argmax, batch), outputs[1], 0, 0, "argmax");
        ParityCheck.AssertClose(HostTensor.Create<bool>(DataType.Bool, [batch, 2], positive), outputs[2], 0, 0, "positive");
        Assert.Equal(DataType.Int64, outputs[1].ElementType);
        Assert.Equal(DataType.Bool, outputs[2].ElementType);
    }

    [Fact]
    public void ReportsGraphNames()
    {
        using var candidate = OpenTinyModel();
        Assert.Equal(["x"], candidate.InputNames);
        Assert.Equal(["y", "argmax", "positive"], candidate.OutputNames);
        var outputs = candidate.Run([HostTensor.FromFloats([0, 0, 0], 1, 3)]);
        ParityCheck.AssertClose(HostTensor.FromFloats([0.5f, 0f], 1, 2), outputs[0], 0, 0, "y");
    }

    [Fact]
    public void MissingInputIsReported()
    {
        using var candidate = OpenTinyModel();
        // OrtCandidate.Run passes the count mismatch through from ONNX Runtime ("Length of inputNames (1) must match
        // that of inputValues (0)"); it does not name the missing input.
        var e = Assert.Throws<ArgumentException>(() => candidate.Run([]));
        Assert.Contains("(0)", e.Message);
    }
}
