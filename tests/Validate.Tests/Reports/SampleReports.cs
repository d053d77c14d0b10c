using ModelForge.Model;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reports;

namespace ModelForge.Validate.Tests.Reports;

/// <summary>
/// A small fixed report for the report-writer tests: onnxruntime-cpu at batch 1 (two passing outputs) and batch 8
/// (logits passes, probs fails, with a NaN produced by the candidate),
/// onnxruntime-cuda unavailable at both batch sizes, and onnxruntime-tensorrt skipped (optional, cannot run here).
/// Time and tool version are pinned, so the renderings are golden.
/// </summary>
internal static class SampleReports
{
    public const string CudaReason = "CUDA EP: libcublas.so.13: cannot open shared object file";
    public const string TensorRtReason = "TensorRT EP: libnvinfer.so.10: cannot open shared object file";
    /// <summary>In the words of <see cref="OutputComparer"/>.</summary>
    public const string ProbsReason =
        "1 NaN in the candidate where the reference has numbers; 4 of 80 elements differ beyond atol=1.00e-05 rtol=1.00e-04; the worst of them is off by 3.1e-02 at [3,7]";

    private static readonly double[] Decades = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];

    public static readonly Tolerance Tight = new(1e-5, 1e-4);

    public static ValidationReport Create(string probsName = "probs")
    {
        var cpu = new CandidateInfo("onnxruntime-cpu", "CPUExecutionProvider",
            new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["graph_optimization_level"] = "ORT_ENABLE_ALL",
                ["intra_op_num_threads"] = "1",
            });
        var cuda = new CandidateInfo("onnxruntime-cuda", "CUDAExecutionProvider",
            new SortedDictionary<string, string>(StringComparer.Ordinal) { ["device_id"] = "0" });

        var batch1 = new CandidateRun(cpu, 1, CandidateStatus.Passed, null,
            [Passing("logits", 1, maxAbs: 2.384185791015625E-07), Passing(probsName, 1, maxAbs: 5.960464477539063E-08)],
            TimeSpan.FromMilliseconds(12.5));
        var batch8 = new CandidateRun(cpu, 8, CandidateStatus.Failed, ProbsReason,
            [Passing("logits", 8, maxAbs: 4.76837158203125E-07), Failing(probsName)],
            TimeSpan.FromMilliseconds(48.25));

        return new ValidationReport(
            ModelPath: "models/resnet_tiny/model.pt",
            OnnxPath: "out/resnet_tiny.onnx",
            Inputs: [new InputDescription("image", "float32", "[batch, 3, 32, 32]", "uniform [0, 1), seed 1234")],
            BatchSizes: [1, 8],
            Seed: 1234,
            Reference: "libtorch 2.10.0 (TorchSharp 0.107.0), fp32, 1 thread",
            ReferenceTime: TimeSpan.FromMilliseconds(250),
            Runs:
            [
                batch1,
                batch8,
                new CandidateRun(cuda, 1, CandidateStatus.Unavailable, CudaReason, [], TimeSpan.Zero),
                new CandidateRun(cuda, 8, CandidateStatus.Unavailable, CudaReason, [], TimeSpan.Zero),
            ],
            FinishedAt: new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero),
            ToolVersion: "0.1.0-test")
        {
            Skipped = [new SkippedCandidate("onnxruntime-tensorrt", TensorRtReason)],
        };
    }

    private static OutputComparison Passing(string name, int batch, double maxAbs)
    {
        var elements = batch * 10L;
        return new OutputComparison(name, true, null,
            DataType.Float32, [batch, 10], DataType.Float32, [batch, 10], Tight,
            new ErrorStatistics(elements, 0,
                maxAbs, maxAbs / 8, maxAbs / 16, maxAbs / 2,
                maxAbs * 4, maxAbs / 2, maxAbs / 4, maxAbs * 2,
                0.9999999403953552),
            new ErrorHistogram(Decades[..4], [elements / 5, elements / 2, 1], elements - elements / 5 - elements / 2 - 1),
            [],
            name == "logits" ? new TopKAgreement(5, batch, batch) : null);
    }

    private static OutputComparison Failing(string name) =>
        new(name, false, ProbsReason,
            DataType.Float32, [8, 10], DataType.Float32, [8, 10], Tight,
            new ErrorStatistics(80, 5,
                0.031, 0.00051, 2.1e-7, 0.0207,
                120, 1.5123, 4.2e-7, 0.35,
                0.99871234),
            new ErrorHistogram(Decades, [9, 31, 20, 7, 3, 1, 1, 2, 0], 5),
            [
                new Mismatch([6, 9], 0.25, double.NaN, double.NaN, double.NaN),
                new Mismatch([3, 7], 0.4123456, 0.4433456, 0.031, 0.07517),
                new Mismatch([5, 2], 0.1875, 0.2078, 0.0203, 0.10827),
                new Mismatch([0, 0], 0, 0.0012, 0.0012, 120),
                new Mismatch([1, 4], -0.03125, -0.03137, 0.00012, 0.00384),
            ],
            null);
}
