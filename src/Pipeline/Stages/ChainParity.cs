using System.Runtime.InteropServices;
using ModelForge.Model;
using ModelForge.Package.Processing;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Reference;
using ModelForge.Validate.Runtime;
using ModelForge.Model.Tensors;

namespace ModelForge.Pipeline.Stages;

/// <summary>One tensor of one chain candidate at one batch size against the native chain.</summary>
/// <param name="Mismatches">Elements outside the tolerance (for an index tensor: a different class where the reference's scores of the two classes are not within it).</param>
public sealed record ChainComparison(string Candidate, int BatchSize, string Tensor, double MaxAbsDiff, long Mismatches)
{
    public bool Passed => Mismatches == 0;
}

/// <summary>
/// The accuracy gate over pre-processing → model → post-processing. Native: the TorchScript model on libtorch, fed by
/// <see cref="ProcessingReference.Preprocess"/> (plain C# loops) and followed by <see cref="ProcessingReference.Postprocess"/>.
/// Candidates, on ONNX Runtime's CPU provider: the ensemble's steps run in sequence (each step's own output feeding
/// the next, as Triton does), and the fused model. Inputs are seeded uint8 images (or the model's own generated
/// inputs without preprocessing). Besides the chain's outputs, the ensemble's intermediate tensors (the preprocessed
/// input, the model's output) are compared too, so a failure says which step drifted.
/// </summary>
public static class ChainParity
{
    public const string Ensemble = "ensemble (onnxruntime-cpu)";
    public const string Fused = "fused (onnxruntime-cpu)";

    public static IReadOnlyList<ChainComparison> Compare(ProcessingPlan plan, ProcessingFiles files, string torchScriptPath, string onnxPath,
        IReadOnlyList<InputSpec> modelInputs, IReadOnlyList<int> batchSizes, IReadOnlyDictionary<string, long> dimSizes, int seed, Tolerance tolerance)
    {
        var comparisons = new List<ChainComparison>();
        using var reference = new TorchScriptReference(torchScriptPath);
        var steps = new[] { files.PreprocessPath, onnxPath, files.PostprocessPath }.OfType<string>()
            .Select(path => OrtCandidate.TryCreate(CandidateKind.Cpu, path, out _) ?? throw new InvalidOperationException("the CPU provider always runs")).ToList();
        using var fused = files.FusedPath is { } fusedPath ? OrtCandidate.TryCreate(CandidateKind.Cpu, fusedPath, out _, Fused) : null;
        try
        {
            var outputIndex = plan.Output is { } classOutput ? OnnxOutputs(onnxPath).IndexOf(classOutput.Name) : 0;
            foreach (var batch in batchSizes)
            {
                var request = Requests(plan, modelInputs, batch, dimSizes, seed);
                // Native: C# preprocessing → libtorch → C# postprocessing.
                IReadOnlyList<HostTensor> modelInput = plan.Preprocess is null ? request
                    : [HostTensor.FromFloats(ProcessingReference.Preprocess(plan, request[0].Data, batch), batch, plan.Input!.Channels, plan.Input.Height, plan.Input.Width)];
                var nativeOutput = reference.Run(modelInput);
                var native = plan.Postprocess is null ? nativeOutput : Classified(plan, nativeOutput[outputIndex], batch);

                // The ensemble: each step on the previous step's output.
                IReadOnlyList<HostTensor> tensors = request;
                var intermediate = new List<(string Name, HostTensor Actual, HostTensor Expected)>();
                for (var s = 0; s < steps.Count; s++)
                {
                    tensors = steps[s].Run(tensors);
                    if (s + 1 == steps.Count) break;
                    var isPre = s == 0 && plan.Preprocess is not null;
                    intermediate.Add(isPre ? (plan.Input!.Name, tensors[0], modelInput[0]) : (plan.Output!.Name, tensors[outputIndex], nativeOutput[outputIndex]));
                    if (!isPre) tensors = [tensors[outputIndex]];
                }
                foreach (var (name, actual, expected) in intermediate)
                    comparisons.Add(Values(Ensemble, batch, name, actual, expected, tolerance));
                comparisons.AddRange(Outputs(Ensemble, batch, plan, tensors, native, tolerance));
                if (fused is not null) comparisons.AddRange(Outputs(Fused, batch, plan, fused.Run(request), native, tolerance));
            }
        }
        finally
        {
            foreach (var step in steps) step.Dispose();
        }
        return comparisons;
    }

    /// <summary>The chain's request: seeded uint8 images in the request layout, or the model's own inputs without preprocessing.</summary>
    private static List<HostTensor> Requests(ProcessingPlan plan, IReadOnlyList<InputSpec> modelInputs, int batch, IReadOnlyDictionary<string, long> dimSizes, int seed)
    {
        var inputs = plan.Preprocess is null ? modelInputs
            : [new InputSpec(ProcessingPlan.ImageInputName, DataType.UInt8, [Dim.Of(batch), .. plan.RequestDims.Select(Dim.Of)])];
        var shapes = InputShapes.At(inputs, batch, dimSizes).Shapes;
        return inputs.Select((input, i) =>
        {
            var data = new byte[shapes[i].Aggregate(1L, (a, d) => a * d) * input.DataType.SizeInBytes()];
            InputValues.Fill(data, input, seed, i, input.DataType == DataType.UInt8 ? new InputRange(input.Name, 0, 255) : null);
            return new HostTensor(input.DataType, shapes[i], data);
        }).ToList();
    }

    /// <summary>The reference postprocessing's tensors in the postprocessing model's output order.</summary>
    private static List<HostTensor> Classified(ProcessingPlan plan, HostTensor logits, int batch)
    {
        var result = ProcessingReference.Postprocess(plan, MemoryMarshal.Cast<byte, float>(logits.Data).ToArray(), batch);
        var tensors = new List<HostTensor> { HostTensor.FromFloats(result.Scores, batch, plan.Output!.Classes) };
        if (result.TopKScores is { } scores) tensors.Add(HostTensor.FromFloats(scores, batch, scores.Length / batch));
        if (result.TopKIndices is { } indices) tensors.Add(HostTensor.FromInt64s(indices, batch, indices.Length / batch));
        if (result.ClassIndex is { } classes) tensors.Add(HostTensor.FromInt64s(classes, batch, 1));
        return tensors;
    }

    private static IEnumerable<ChainComparison> Outputs(string candidate, int batch, ProcessingPlan plan, IReadOnlyList<HostTensor> actual, IReadOnlyList<HostTensor> expected,
        Tolerance tolerance)
    {
        var names = plan.Postprocess is null ? null : plan.PostprocessOutputs.Select(o => o.Name).ToList();
        for (var i = 0; i < expected.Count; i++)
        {
            var name = names?[i] ?? $"output {i}";
            yield return expected[i].ElementType == DataType.Int64 && plan.Output is not null
                ? Indices(candidate, batch, name, actual[i], expected[i], expected[0], plan.Output!.Classes, tolerance)
                : Values(candidate, batch, name, actual[i], expected[i], tolerance);
        }
    }

    private static ChainComparison Values(string candidate, int batch, string name, HostTensor actual, HostTensor expected, Tolerance tolerance)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape)) return new ChainComparison(candidate, batch, name + $" (shape {actual.ShapeText} ≠ {expected.ShapeText})", double.PositiveInfinity, 1);
        var (a, e) = (actual.ToDoubles(), expected.ToDoubles());
        var max = 0.0;
        var mismatches = 0L;
        for (var i = 0; i < e.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - e[i]));
            if (!tolerance.Accepts(e[i], a[i])) mismatches++;
        }
        return new ChainComparison(candidate, batch, name, max, mismatches);
    }

    /// <summary>Class indices must be equal, unless the reference scores of the two classes are within the tolerance (a near tie either side may break).</summary>
    private static ChainComparison Indices(string candidate, int batch, string name, HostTensor actual, HostTensor expected, HostTensor referenceScores, long classes,
        Tolerance tolerance)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape)) return new ChainComparison(candidate, batch, name + $" (shape {actual.ShapeText} ≠ {expected.ShapeText})", double.PositiveInfinity, 1);
        var (a, e, scores) = (actual.ToInt64s(), expected.ToInt64s(), referenceScores.ToDoubles());
        var perRow = e.Length / batch;
        var mismatches = 0L;
        var max = 0.0;
        for (var i = 0; i < e.Length; i++)
        {
            if (a[i] == e[i]) continue;
            var row = i / perRow * classes;
            var tie = a[i] >= 0 && a[i] < classes && tolerance.Accepts(scores[row + e[i]], scores[row + a[i]]);
            max = Math.Max(max, Math.Abs(a[i] - e[i]));
            if (!tie) mismatches++;
        }
        return new ChainComparison(candidate, batch, name, max, mismatches);
    }

    private static List<string> OnnxOutputs(string onnxPath) => Package.OnnxSignature.Read(onnxPath).Outputs.Select(o => o.Name).ToList();
}
