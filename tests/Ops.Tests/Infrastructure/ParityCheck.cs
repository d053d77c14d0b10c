using ModelForge.Convert;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;
using Onnx;

namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>
/// The per-fixture parity check: convert the fixture's model.pt with its declared inputs (batch dim dynamic),
/// check the ONNX structure, then at every batch size of the spec run libtorch (<see cref="TorchScriptReference"/>)
/// and ONNX Runtime's CPU provider (<see cref="OrtCandidate"/>) on the committed inputs and require every output to
/// agree within the spec's tolerances with libtorch and with the outputs PyTorch 1.13 saved with the fixture. The ONNX
/// outputs carry the documented names: <c>output</c> for one tensor, else <c>output_0</c>, <c>output_1</c>, … in the
/// flattened order of the saved outputs.
/// </summary>
public static class ParityCheck
{
    /// <param name="withLibtorch">false for the cases TorchSharp cannot run (fixtures/saved_only): ONNX Runtime is then
    /// compared with the saved outputs only.</param>
    /// <param name="options">Changes to the default conversion options (an opt-in lowering).</param>
    public static ModelProto Run(FixtureCase fixture, int opset, bool withLibtorch = true, Func<ConvertOptions, ConvertOptions>? options = null)
    {
        var specs = InputSpecs(fixture);
        var convertOptions = new ConvertOptions(specs, opset);
        using var result = ModelConverter.Convert(fixture.ModelPath, options?.Invoke(convertOptions) ?? convertOptions);
        OnnxStructure.AssertWellFormed(result.Model, specs.Select(s => s.Name).ToArray(), opset);
        string[] outputNames = fixture.OutputCount == 1 ? ["output"] : Enumerable.Range(0, fixture.OutputCount).Select(j => $"output_{j}").ToArray();
        Assert.Equal(outputNames, result.Model.Graph.Output.Select(o => o.Name).ToArray());
        if (fixture.OrtCpuUnsupported is not null)
        {
            CheckWithoutOnnxRuntime(fixture, result.Model);
            return result.Model;
        }

        var directory = Directory.CreateTempSubdirectory("modelforge-ops-tests-");
        try
        {
            var onnxPath = Path.Combine(directory.FullName, "model.onnx");
            result.WriteTo(onnxPath);
            using var candidate = OrtCandidate.TryCreate(CandidateKind.Cpu, onnxPath, out var unavailable)
                ?? throw new InvalidOperationException($"{fixture} opset {opset}: ONNX Runtime's CPU provider is unavailable: {unavailable}");
            using var reference = withLibtorch ? new TorchScriptReference(fixture.ModelPath) : null;
            // OrtCandidate takes inputs in graph order; the graph declares the spec's inputs (AssertWellFormed), so
            // this is the spec order, but feed them by name all the same.
            var specNames = fixture.Inputs.Select(i => i.Name).ToList();
            var graphOrder = candidate.InputNames.Select(n => specNames.IndexOf(n)).ToArray();
            Assert.True(!graphOrder.Contains(-1),
                $"{fixture} opset {opset}: ONNX inputs [{string.Join(", ", candidate.InputNames)}] are not the spec's [{string.Join(", ", specNames)}]");
            foreach (var batch in fixture.BatchSizes)
            {
                var inputs = fixture.LoadInputs(batch);
                var native = reference?.Run(inputs);
                var saved = fixture.LoadOutputs(batch);
                var converted = candidate.Run(graphOrder.Select(i => inputs[i]).ToArray());
                Assert.True(native is null || native.Count == converted.Count,
                    $"{fixture} opset {opset} batch {batch}: libtorch returned {native?.Count} outputs, ONNX Runtime {converted.Count}");
                for (var j = 0; j < converted.Count; j++)
                {
                    var label = $"{fixture} opset {opset} batch {batch} output {j}";
                    if (native is not null) AssertClose(native[j], converted[j], fixture.Atol, fixture.Rtol, label + " vs libtorch");
                    AssertClose(saved[j], converted[j], fixture.Atol, fixture.Rtol, label + " vs PyTorch 1.13");
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
        return result.Model;
    }

    /// <summary>
    /// For a case below its "min_opset": conversion fails with MF2002 (OpsetTooLow), naming one of the case's ops with
    /// "needs opset ≥ N", and the hint says to raise --opset to N.
    /// </summary>
    public static void AssertNeedsOpset(FixtureCase fixture, int opset, int minimum)
    {
        var error = Assert.Throws<ModelForgeException>(() => ModelConverter.Convert(fixture.ModelPath, new ConvertOptions(InputSpecs(fixture), opset)));
        Assert.Equal(DiagnosticCode.OpsetTooLow, error.Code);
        Assert.Contains($"needs opset ≥ {minimum}", error.Message);
        Assert.Contains(fixture.Ops, op => error.Message.Contains(op + " ", StringComparison.Ordinal));
        Assert.Contains($"raise --opset to {minimum}", error.Diagnostics[0].Hint);
    }

    public static List<InputSpec> InputSpecs(FixtureCase fixture) =>
        fixture.Inputs.Select(i => new InputSpec(i.Name, i.ElementType,
            i.Dims.Select(d => d.IsBatch ? Dim.Named("batch") : Dim.Of(d.Value)).ToArray())).ToList();

    /// <summary>
    /// For a case ONNX Runtime's CPU provider cannot run (spec "ort_cpu": float32 in, bfloat16 inside, float32 out): the
    /// graph casts the input to bfloat16 and computes in it (the only Cast back to float32 makes the output; no weight is
    /// widened), and libtorch reproduces the outputs PyTorch 1.13 saved.
    /// </summary>
    private static void CheckWithoutOnnxRuntime(FixtureCase fixture, ModelProto model)
    {
        static bool CastTo(NodeProto node, DataType type) =>
            node.OpType == "Cast" && node.Attribute.Any(a => a.Name == "to" && a.I == (long)type);
        Assert.Contains(model.Graph.Node, n => CastTo(n, DataType.BFloat16));
        var widened = model.Graph.Node.Where(n => CastTo(n, DataType.Float32)).SelectMany(n => n.Output).ToList();
        Assert.Equal(model.Graph.Output.Select(o => o.Name).Order(), widened.Order());
        Assert.DoesNotContain(model.Graph.Initializer, i => i.DataType == (int)DataType.Float32 && i.Dims.Count > 0);
        using var reference = new TorchScriptReference(fixture.ModelPath);
        foreach (var batch in fixture.BatchSizes)
        {
            var native = reference.Run(fixture.LoadInputs(batch));
            var saved = fixture.LoadOutputs(batch);
            for (var j = 0; j < saved.Length; j++)
                AssertClose(saved[j], native[j], fixture.Atol, fixture.Rtol, $"{fixture} batch {batch} output {j}: libtorch vs PyTorch 1.13");
        }
    }

    /// <summary>
    /// Fails unless <paramref name="actual"/> matches <paramref name="expected"/> by <see cref="OutputComparer"/>: same
    /// dtype and shape, floats within |a − e| ≤ atol + rtol·|e| (NaN only against NaN), integers and bools exactly.
    /// The message is the label, the comparer's <see cref="OutputComparison.FailureReason"/>, both
    /// tensors' dtype and shape, and the worst element's values.
    /// </summary>
    public static void AssertClose(HostTensor expected, HostTensor actual, double atol, double rtol, string label)
    {
        var comparison = OutputComparer.Compare(label, expected, actual, ToleranceSettings.Default.WithGlobal(atol, rtol));
        if (comparison.Passed) return;
        var worst = comparison.WorstMismatches.Count > 0
            ? FormattableString.Invariant(
                $"; worst element: expected {comparison.WorstMismatches[0].Expected:G9}, actual {comparison.WorstMismatches[0].Actual:G9}")
            : "";
        Assert.Fail($"{label}: {comparison.FailureReason} (expected {expected}, actual {actual}){worst}");
    }
}
