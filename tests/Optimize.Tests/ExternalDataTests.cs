using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using ModelForge.Model.Tensors;
using ModelForge.Optimize.Int8;
using ModelForge.Optimize.Onnx;
using ModelForge.Optimize.Tests.Int8;
using ModelForge.Runtime;
using Onnx;

namespace ModelForge.Optimize.Tests;

/// <summary>
/// Models whose weights live in external data (as ModelForge writes models past 2 GiB), forced into that layout on
/// small fixtures: every precision reads them mapped rather than copied, gives ONNX Runtime the file itself, and
/// writes external data out; the output threshold is a knob, so no test needs a 2 GiB file.
/// </summary>
[Collection(TestModelsCollection.Name)]
public sealed class ExternalDataTests(TestModels models) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-external-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    /// <summary>Writes <paramref name="model"/> with every weight of 1 KiB or more in <c>NAME.data</c>.</summary>
    private string WriteExternal(ModelProto model, string name)
    {
        var path = PathOf(name);
        Assert.True(OnnxModelFile.Write(model, path, externalData: true));
        return path;
    }

    /// <summary>8 MiB of weights in a graph of three nodes, so the graph's own bytes do not hide a copy of the weights.</summary>
    private static readonly ModelProto Wide = HandBuilt.WideMlp(1024);

    private static long WeightBytes(ModelProto model) => model.Graph.Initializer.Sum(t => (long)t.RawData.Length);

    [Theory]
    [InlineData(Precision.Int8)]
    [InlineData(Precision.Int8Dynamic)]
    [InlineData(Precision.Fp16)]
    [InlineData(Precision.Fp32)]
    public void A_model_in_external_data_is_rewritten_to_external_data_that_matches_fp32(Precision precision)
    {
        var model = precision == Precision.Int8 ? Wide : models.Vit;
        var input = WriteExternal(model, "model.onnx");
        var output = PathOf("out.onnx");

        var summary = ModelOptimizer.Run(new OptimizeRequest(input, output, precision) { Int8 = new Int8Options { CalibrationSamples = 8 } }, _ => { });

        Assert.True(summary.ExternalData);
        Assert.True(new FileInfo(output + ".data").Length > 0);
        Assert.Contains(ModelProto.Parser.ParseFrom(File.ReadAllBytes(output)).Graph.Initializer,
            t => t.DataLocation == TensorProto.Types.DataLocation.External);
        var cosine = OrtRuns.Cosine(OrtRuns.Run(input, 2, 11), OrtRuns.Run(output, 2, 11));
        Assert.True(cosine >= 0.99, $"cosine {cosine}");
        if (precision == Precision.Fp32) Assert.Equal(OrtRuns.Run(input, 2, 11), OrtRuns.Run(output, 2, 11));
    }

    [Fact]
    public void Reading_maps_the_external_weights_instead_of_copying_them_into_the_heap()
    {
        var input = WriteExternal(Wide, "wide.onnx");
        var external = ModelProto.Parser.ParseFrom(File.ReadAllBytes(input)).Graph.Initializer
            .Count(t => t.DataLocation == TensorProto.Types.DataLocation.External);
        var weights = new FileInfo(input + ".data").Length;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var loaded = OnnxModelFile.Read(input);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(loaded.HadExternalData);
        Assert.Equal(external, loaded.Model.Graph.Initializer.Count(t => MappedExternalData.TryLocate(t.RawData, out _, out _)));
        Assert.True(allocated < weights / 4, $"reading allocated {allocated} bytes for {weights} bytes of external weights");
        // The mapped bytes are the weights themselves.
        Assert.Equal(WeightBytes(Wide), WeightBytes(loaded.Model));
        var original = Wide.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.All(loaded.Model.Graph.Initializer, t => Assert.True(t.RawData.Span.SequenceEqual(original[t.Name].RawData.Span), t.Name));
    }

    [Fact]
    public void Onnx_runtime_is_given_the_external_data_file_not_a_serialised_copy_of_the_weights()
    {
        var input = WriteExternal(Wide, "wide.onnx");
        var loaded = OnnxModelFile.Read(input);

        var (bytes, entries) = OnnxModelFile.ForOnnxRuntime(loaded.Model);

        Assert.True(bytes.Length < new FileInfo(input + ".data").Length / 4, $"{bytes.Length} bytes handed to ONNX Runtime");
        Assert.Equal(_directory, entries["session.model_external_initializers_file_folder_path"]);
        // The loaded model itself is unchanged: its weights are still mapped, not turned into references.
        Assert.DoesNotContain(loaded.Model.Graph.Initializer, t => t.DataLocation == TensorProto.Types.DataLocation.External);

        var samples = TestModels.Samples(2, 2, 1024);
        var reference = models.Run(Wide, "wide_inline", samples);
        var request = new OrtSessionRequest(input, OrtFailure.CannotLoad(DiagnosticCode.OptimizeModelUnreadable, input)) { ModelBytes = bytes, SessionEntries = entries };
        using var session = OrtHost.Open(request);
        foreach (var (sample, expected) in samples.Zip(reference))
        {
            using var value = OrtValue.CreateTensorValueFromMemory(Floats(sample[0]), sample[0].Shape);
            using var results = session.Run(new RunOptions(), [session.InputNames[0]], [value], [session.OutputNames[0]]);
            // Without prepacking ORT may sum in another order: equal up to float rounding.
            var actual = results[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.All(Floats(expected[0]).Zip(actual), pair => Assert.Equal(pair.First, pair.Second, 1e-4f));
        }
    }

    private static float[] Floats(HostTensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();

    [Fact]
    public void An_inline_model_has_no_mapped_weights_and_is_handed_over_as_it_is()
    {
        var (bytes, entries) = OnnxModelFile.ForOnnxRuntime(models.Vit);
        Assert.Empty(entries);
        Assert.Equal(models.Vit.ToByteArray(), bytes);
    }

    [Fact]
    public void An_output_past_the_threshold_is_written_with_external_data()
    {
        var input = PathOf("inline.onnx");
        File.WriteAllBytes(input, models.Vit.ToByteArray());
        var output = PathOf("out.onnx");

        var summary = ModelOptimizer.Run(new OptimizeRequest(input, output, Precision.Int8Dynamic) { ExternalDataThreshold = 1024 }, _ => { });

        Assert.True(summary.ExternalData);
        Assert.True(File.Exists(output + ".data"));
        Assert.True(OrtRuns.Cosine(OrtRuns.Run(input, 2, 5), OrtRuns.Run(output, 2, 5)) >= 0.99);

        var small = PathOf("small.onnx");
        Assert.False(ModelOptimizer.Run(new OptimizeRequest(input, small, Precision.Int8Dynamic), _ => { }).ExternalData);
        Assert.False(File.Exists(small + ".data"));
    }
}
