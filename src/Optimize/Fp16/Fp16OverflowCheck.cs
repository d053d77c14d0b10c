using System.Globalization;
using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Model.Tensors;
using ModelForge.Optimize.Onnx;
using ModelForge.Validate.Runtime;
using Onnx;

namespace ModelForge.Optimize.Fp16;

/// <summary>An activation float16 cannot hold: the largest magnitude a node's output reached on the calibration inputs.</summary>
/// <param name="Node">The node whose output overflows (for a graph input: the input's name).</param>
public sealed record Fp16Overflow(string Node, string OpType, string Tensor, double MaxMagnitude);

/// <summary>
/// Finds activations beyond float16's range before converting: runs calibration inputs through the fp32 model in ONNX
/// Runtime (CPU) with every float output of a node that would run in float16 (<see cref="Fp16Plan"/>) added as a
/// graph output, and reports each one whose magnitude exceeds 65504 (an infinity included).
/// </summary>
public static class Fp16OverflowCheck
{
    /// <summary>The overflowing activations, worst first; empty when float16 holds every one.</summary>
    /// <param name="samples">Calibration inputs, each in the graph's input order.</param>
    public static IReadOnlyList<Fp16Overflow> Find(ModelProto model, Fp16Options options, IEnumerable<IReadOnlyList<HostTensor>> samples)
    {
        OnnxTensors.RequireInlineWeights(model, "fp16 overflow check");
        var plan = Fp16Plan.Create(model, options);
        var graph = model.Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var watched = graph.Node.Where(plan.RunsInFp16)
            .SelectMany(node => node.Output.Where(plan.IsFloat32).Select(output => (Node: node.Name, node.OpType, Tensor: output)))
            .ToList();
        var floatInputs = graph.Input.Select((input, index) => (input.Name, Index: index))
            .Where(i => !initializers.Contains(i.Name) && plan.IsFloat32(i.Name)
                && graph.Node.Any(n => plan.RunsInFp16(n) && n.Input.Contains(i.Name)))
            .ToList();

        var instrumented = model.Clone();
        var existingOutputs = instrumented.Graph.Output.Select(o => o.Name).ToList();
        foreach (var (_, _, tensor) in watched.Where(w => !existingOutputs.Contains(w.Tensor)))
            instrumented.Graph.Output.Add(new ValueInfoProto
            {
                Name = tensor,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElementTypes.Float } },
            });
        var outputIndex = instrumented.Graph.Output.Select((o, i) => (o.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

        var watchedMax = new double[watched.Count];
        var inputMax = new double[floatInputs.Count];
        var folder = Directory.CreateTempSubdirectory("modelforge-fp16-check-");
        try
        {
            var path = Path.Combine(folder.FullName, "instrumented.onnx");
            // Weights mapped from external data are streamed to the copy's own side file (a copy on disk, not in memory).
            OnnxModelFile.Write(instrumented, path, externalData: instrumented.Graph.Initializer.Any(t => MappedExternalData.TryLocate(t.RawData, out _, out _)));
            using var session = OrtCandidate.TryCreate(CandidateKind.Cpu, path, out _, "fp16-overflow-check")!;
            foreach (var sample in samples)
            {
                for (var i = 0; i < floatInputs.Count; i++) inputMax[i] = Math.Max(inputMax[i], MaxMagnitude(sample[floatInputs[i].Index]));
                var outputs = session.Run(sample);
                for (var i = 0; i < watched.Count; i++) watchedMax[i] = Math.Max(watchedMax[i], MaxMagnitude(outputs[outputIndex[watched[i].Tensor]]));
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        var overflows = new List<Fp16Overflow>();
        for (var i = 0; i < floatInputs.Count; i++)
            if (inputMax[i] > Fp16Converter.Fp16Max) overflows.Add(new Fp16Overflow(floatInputs[i].Name, "graph input", floatInputs[i].Name, inputMax[i]));
        for (var i = 0; i < watched.Count; i++)
            if (watchedMax[i] > Fp16Converter.Fp16Max) overflows.Add(new Fp16Overflow(watched[i].Node, watched[i].OpType, watched[i].Tensor, watchedMax[i]));
        return [.. overflows.OrderByDescending(o => o.MaxMagnitude)];
    }

    /// <summary>Throws MF8020 naming every overflowing node and its largest value when <see cref="Find"/> finds any.</summary>
    public static void Check(ModelProto model, Fp16Options options, IEnumerable<IReadOnlyList<HostTensor>> samples)
    {
        var overflows = Find(model, options, samples);
        if (overflows.Count > 0) throw new ModelForgeException(overflows.Select(ToDiagnostic).ToList());
    }

    public static Diagnostic ToDiagnostic(Fp16Overflow overflow) => new(DiagnosticCode.Fp16ActivationOverflow,
        $"fp16: node '{overflow.Node}' ({overflow.OpType}) writes '{overflow.Tensor}' with magnitude up to {overflow.MaxMagnitude.ToString("G6", CultureInfo.InvariantCulture)} on the calibration inputs, beyond float16's ±65504",
        Hint: overflow.OpType == "graph input"
            ? "scale the input down (normalise it in the model) or keep the model in fp32"
            : $"add '{overflow.OpType}' to the fp16 block list (or the node to the node block list) so it stays float32, or keep the model in fp32");

    /// <summary>The largest |value| of a float32 tensor; an infinity counts, a NaN does not.</summary>
    private static double MaxMagnitude(HostTensor tensor)
    {
        if (tensor.ElementType != DataType.Float32) return 0;
        var max = 0f;
        foreach (var value in MemoryMarshal.Cast<byte, float>(tensor.Data)) if (Math.Abs(value) > max) max = Math.Abs(value);
        return max;
    }
}
