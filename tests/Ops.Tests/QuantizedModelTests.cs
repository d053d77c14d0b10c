using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Ops.Tests.Infrastructure;
using ModelForge.Runtime;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;
using Onnx;
using Xunit.Abstractions;

namespace ModelForge.Ops.Tests;

/// <summary>
/// Models quantized in PyTorch (fixtures/quantized: the q_* op cases and the *quantized* models): converted to QDQ form,
/// they match libtorch's own int8 kernels within one quantization step of the output scale (the rule of docs/precision.md),
/// and ONNX Runtime's optimizer turns the QDQ convolutions into integer QLinearConv kernels. The validator reads the
/// same step from the graph (<see cref="QuantizedOutputTolerance"/>).
/// </summary>
public sealed class QuantizedModelTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Cases() =>
        FixtureCase.Names("ops").Where(n => n.StartsWith("q_", StringComparison.Ordinal)).Select(n => new object[] { "ops", n })
            .Concat(FixtureCase.Names("models").Where(n => n.Contains("quantized", StringComparison.Ordinal)).Select(n => new object[] { "models", n }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Quantized_model_matches_libtorch_within_one_step_and_runs_on_integer_kernels(string kind, string name)
    {
        var fixture = FixtureCase.Load(kind, name);
        var scale = fixture.OutputScale ?? throw new InvalidDataException($"{fixture}: spec.json has no output_scale");
        var model = ParityCheck.Run(fixture, opset: 17);
        Assert.Contains(model.Graph.Node, n => n.OpType == "QuantizeLinear");

        var directory = Directory.CreateTempSubdirectory("modelforge-quantized-");
        try
        {
            var onnxPath = Path.Combine(directory.FullName, "model.onnx");
            var optimizedPath = Path.Combine(directory.FullName, "optimized.onnx");
            using (var converted = ModelConverter.Convert(fixture.ModelPath, new ConvertOptions(ParityCheck.InputSpecs(fixture), 17)))
                converted.WriteTo(onnxPath);
            using (OrtHost.Open(new OrtSessionRequest(onnxPath, OrtFailure.CannotLoad(DiagnosticCode.CandidateFailed, onnxPath)) { OptimizedModelPath = optimizedPath }))
            {
            }
            // The validator's tolerance rule finds the output's grid in the graph: the scale PyTorch dequantized with.
            Assert.Equal(scale, Assert.Single(QuantizedOutputTolerance.OutputScales(onnxPath)).Value, 1e-6 * scale);
            var optimized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedPath));
            var convolutions = model.Graph.Node.Count(n => n.OpType == "Conv");
            var integerConvolutions = optimized.Graph.Node.Count(n => n.OpType == "QLinearConv");
            output.WriteLine($"{fixture}: {convolutions} Conv → {integerConvolutions} QLinearConv; optimized ops: " +
                             string.Join(", ", optimized.Graph.Node.GroupBy(n => n.OpType).Select(g => $"{g.Key}×{g.Count()}")));
            Assert.Equal(convolutions, integerConvolutions);

            using var candidate = OrtCandidate.TryCreate(CandidateKind.Cpu, onnxPath, out var unavailable)
                ?? throw new InvalidOperationException($"ONNX Runtime's CPU provider is unavailable: {unavailable}");
            using var reference = new TorchScriptReference(fixture.ModelPath);
            var worst = 0.0;
            foreach (var batch in fixture.BatchSizes)
            {
                var inputs = fixture.LoadInputs(batch);
                var native = reference.Run(inputs)[0].ToDoubles();
                var converted = candidate.Run(inputs)[0].ToDoubles();
                worst = Math.Max(worst, native.Zip(converted, (a, b) => Math.Abs(a - b) / scale).Max());
            }
            output.WriteLine($"{fixture}: max |onnx − libtorch| = {worst:0.###} quantization steps (scale {scale:G4})");
            Assert.True(worst <= 1.0001, $"{fixture}: ONNX Runtime differs from libtorch by {worst:0.###} steps of the output scale");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
