using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Model;
using ModelForge.Optimize.Int8;
using ModelForge.Validate.Inputs;
using Onnx;

namespace ModelForge.Optimize.Tests.Int8;

/// <summary>Runs models in real ONNX Runtime (CPU) for the int8 tests.</summary>
internal static class OrtRuns
{
    /// <summary>The first output on generated inputs (seeded, batch <paramref name="batch"/>).</summary>
    public static float[] Run(string path, int batch, int seed, string? optimizedPath = null)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED };
        if (optimizedPath is not null) options.OptimizedModelFilePath = optimizedPath;
        using var session = new InferenceSession(path, options);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var specs = StaticInt8Quantizer.InputSpecs(model.Graph);
        var inputs = InputGenerator.Generate(specs, batch, seed, new Dictionary<string, InputRange>(), new Dictionary<string, long>());
        var values = inputs.Select((t, i) =>
        {
            var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)t.ElementType, t.Shape);
            t.Data.CopyTo(value.GetTensorMutableRawData());
            return value;
        }).ToList();
        try
        {
            using var results = session.Run(new RunOptions(), specs.Select(s => s.Name).ToArray(), values, [session.OutputNames[0]]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    /// <summary>The op types (domain-qualified for contrib ops) of the model ORT writes after optimizing <paramref name="path"/>.</summary>
    public static IReadOnlyList<string> OptimizedOps(string path)
    {
        var optimized = path + ".optimized.onnx";
        Run(path, 1, 0, optimized);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized));
        return model.Graph.Node.Select(n => n.OpType).ToList();
    }

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}

/// <summary>Quantizes a model file to int8 the way <c>modelforge optimize --precision int8</c> does.</summary>
internal static class Int8File
{
    public static Int8Result Quantize(string input, string output, Int8Options options, Action<ModelForge.Core.Diagnostics.Diagnostic> warn) =>
        ModelOptimizer.Run(new OptimizeRequest(input, output, Precision.Int8) { Int8 = options }, warn).Int8!;
}
