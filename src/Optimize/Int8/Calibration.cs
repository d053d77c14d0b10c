using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Runtime;
using ModelForge.Model.Tensors;
using Onnx;

namespace ModelForge.Optimize.Int8;

/// <summary>
/// Measures activation ranges: the fp32 model, with every tensor to measure added as an extra graph output, runs in
/// ONNX Runtime (CPU) over the calibration batches, and one <see cref="Calibrator"/> per tensor sees its values.
/// </summary>
internal static class Calibration
{
    public static Dictionary<string, ActivationRange> Run(ModelProto model, string modelPath, IReadOnlyList<string> tensors,
        IReadOnlyList<string> inputNames, CalibrationSet samples, CalibrationMethod method)
    {
        var calibrators = tensors.ToDictionary(t => t, _ => Calibrator.Create(method), StringComparer.Ordinal);
        var declared = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var added = tensors.Where(t => !declared.Contains(t)).Select(t => new ValueInfoProto
        {
            Name = t,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        }).ToList();
        // The outputs are added to the model itself and taken out again after serialising, so its weights are not copied
        // twice; weights mapped from external data stay in their file, which ORT reads itself.
        model.Graph.Output.AddRange(added);
        byte[] bytes;
        IReadOnlyDictionary<string, string> entries;
        try
        {
            (bytes, entries) = OnnxModelFile.ForOnnxRuntime(model);
        }
        finally
        {
            foreach (var output in added) model.Graph.Output.Remove(output);
        }
        var request = new OrtSessionRequest(modelPath, OrtFailure.CannotLoad(DiagnosticCode.OptimizeModelUnreadable, modelPath))
        {
            ModelBytes = bytes,
            Optimization = GraphOptimizationLevel.ORT_ENABLE_BASIC,
            SessionEntries = entries,
        };
        using var session = OrtHost.Open(request);
        var outputNames = tensors.ToArray();
        foreach (var batch in samples.Batches())
        {
            var values = batch.Select(ToOrt).ToList();
            try
            {
                using var runOptions = new RunOptions();
                using var results = OrtErrors.Guard(() => session.Run(runOptions, inputNames, values, outputNames),
                    () => new OrtFailure(DiagnosticCode.CalibrationDataMismatch, $"the fp32 model does not run on the calibration inputs from {samples.Source} ({string.Join(", ", batch)})",
                        new SourceLocation(modelPath), "check that the calibration arrays fit the model's inputs"));
                for (var i = 0; i < outputNames.Length; i++)
                    calibrators[outputNames[i]].Observe(results[i].GetTensorDataAsSpan<float>());
            }
            finally
            {
                foreach (var value in values) value.Dispose();
            }
        }
        // Choosing a range is per tensor (entropy's search is the costly one), so the tensors are spread over the cores.
        return calibrators.AsParallel().Select(p => (p.Key, Range: p.Value.Range())).ToDictionary(p => p.Key, p => p.Range, StringComparer.Ordinal);
    }

    private static OrtValue ToOrt(HostTensor tensor)
    {
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (Microsoft.ML.OnnxRuntime.Tensors.TensorElementType)(int)tensor.ElementType, tensor.Shape);
        tensor.Data.CopyTo(value.GetTensorMutableRawData());
        return value;
    }
}
