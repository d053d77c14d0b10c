using Google.Protobuf;
using ModelForge.Convert;
using ModelForge.Model;
using ModelForge.Model.Tensors;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Runtime;
using Onnx;

namespace ModelForge.Optimize.Tests;

/// <summary>
/// Fixture models converted once for the test assembly with ModelForge.Convert: resnet18_small (convolutions, a
/// Gemm classifier), vit_small (a transformer classifier: MatMul, LayerNormalization, Softmax) and
/// layernorm_gelu_handwritten_small (MatMul blocks with LayerNorms written out as ReduceMean/Pow/Sqrt, fused by the
/// converter), mlp_batchnorm1d_small (two Gemms) and lstm_tagger_small (embedding, 2-layer bidirectional LSTM).
/// </summary>
public sealed class TestModels : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("modelforge-optimize-models-").FullName;

    public ModelProto ResNet { get; }
    public ModelProto Vit { get; }
    public ModelProto HandwrittenLayerNorm { get; }
    public ModelProto Mlp { get; }
    public ModelProto Lstm { get; }

    public TestModels()
    {
        ResNet = Convert("resnet18_small", "x:float32[batch,3,64,64]");
        Vit = Convert("vit_small", "x:float32[batch,3,32,32]");
        HandwrittenLayerNorm = Convert("layernorm_gelu_handwritten_small", "x:float32[batch,5,16]");
        Mlp = Convert("mlp_batchnorm1d_small", "x:float32[batch,12]");
        Lstm = Convert("lstm_tagger_small", "ids:int64[batch,8]");
    }

    private ModelProto Convert(string fixture, string input)
    {
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", fixture, "model.pt"), new ConvertOptions([InputSpec.Parse(input)]));
        var path = Path.Combine(Directory, fixture + ".onnx");
        result.WriteTo(path);
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
    }

    /// <summary>Writes <paramref name="model"/> into the test folder and returns its path.</summary>
    public string Write(ModelProto model, string name)
    {
        var path = Path.Combine(Directory, name + ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    /// <summary>Runs <paramref name="model"/> on ONNX Runtime CPU over the samples; one output list per sample.</summary>
    public List<IReadOnlyList<HostTensor>> Run(ModelProto model, string name, IEnumerable<IReadOnlyList<HostTensor>> samples)
    {
        using var session = OrtCandidate.TryCreate(CandidateKind.Cpu, Write(model, name), out _)!;
        return samples.Select(session.Run).ToList();
    }

    /// <summary>Seeded normal-ish inputs of the given shape, one tensor per sample.</summary>
    public static List<IReadOnlyList<HostTensor>> Samples(int count, params long[] shape)
    {
        var random = new Random(20261206);
        var length = (int)shape.Aggregate(1L, (a, d) => a * d);
        return Enumerable.Range(0, count).Select(_ =>
            (IReadOnlyList<HostTensor>)[HostTensor.FromFloats(Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape)]).ToList();
    }

    /// <summary>Seeded token ids in [1, <paramref name="vocabulary"/>), one tensor per sample.</summary>
    public static List<IReadOnlyList<HostTensor>> TokenSamples(int count, int vocabulary, params long[] shape)
    {
        var random = new Random(20261206);
        var length = (int)shape.Aggregate(1L, (a, d) => a * d);
        return Enumerable.Range(0, count).Select(_ =>
            (IReadOnlyList<HostTensor>)[HostTensor.FromInt64s(Enumerable.Range(0, length).Select(_ => (long)random.Next(1, vocabulary)).ToArray(), shape)]).ToList();
    }

    /// <summary>The metrics of the first output of <paramref name="candidate"/> against <paramref name="reference"/>, over every sample.</summary>
    public static QuantizationMetrics Compare(List<IReadOnlyList<HostTensor>> reference, List<IReadOnlyList<HostTensor>> candidate)
    {
        var accumulator = new QuantizationMetricsAccumulator();
        for (var i = 0; i < reference.Count; i++) accumulator.Add(reference[i][0], candidate[i][0]);
        return accumulator.Result();
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class TestModelsCollection : ICollectionFixture<TestModels>
{
    public const string Name = "converted models";
}
