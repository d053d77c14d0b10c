using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Convert.IR;
using Onnx;

namespace ModelForge.Convert.Tests.Emit;

/// <summary>
/// External data round trip on a small model: the threshold is lowered through <see cref="ConvertOptions.ExternalDataThreshold"/>
/// so the ResNet fixture takes the path a model over 2 GB takes. The side file must hold every large weight at an
/// aligned offset under a relative location, and ONNX Runtime must load the pair and compute what the inline model does.
/// </summary>
public sealed class ExternalDataTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("modelforge-external-data-");

    public void Dispose() => _directory.Delete(recursive: true);

    private static ConversionResult Convert(long threshold) => ModelConverter.Convert(RepoPaths.Fixture("models", "resnet18_small", "model.pt"),
        new ConvertOptions([new InputSpec("x", DataType.Float32, [Dim.Named("batch"), 3, 64, 64])]) { ExternalDataThreshold = threshold });

    private string Write(long threshold, string name)
    {
        var path = Path.Combine(_directory.FullName, name);
        using var result = Convert(threshold);
        result.WriteTo(path);
        Assert.Equal(threshold == 0 ? ConversionResult.ExternalDataPathFor(path) : null, result.ExternalDataPath);
        return path;
    }

    [Fact]
    public void Weights_over_the_threshold_go_to_one_aligned_side_file_that_onnx_runtime_loads()
    {
        var inlinePath = Write(long.MaxValue, "inline.onnx");
        var externalPath = Write(0, "external.onnx");
        Assert.False(File.Exists(ConversionResult.ExternalDataPathFor(inlinePath)));
        var dataPath = externalPath + ".data";
        var data = File.ReadAllBytes(dataPath);

        var inline = ModelProto.Parser.ParseFrom(File.ReadAllBytes(inlinePath)).Graph.Initializer.ToDictionary(t => t.Name);
        var external = ModelProto.Parser.ParseFrom(File.ReadAllBytes(externalPath)).Graph.Initializer;
        Assert.Equal(inline.Count, external.Count);
        var movedBytes = 0L;
        foreach (var tensor in external)
        {
            var original = inline[tensor.Name].RawData.ToByteArray();
            if (original.Length < 1024)
            {
                Assert.Equal(TensorProto.Types.DataLocation.Default, tensor.DataLocation);
                continue;
            }
            Assert.Equal(TensorProto.Types.DataLocation.External, tensor.DataLocation);
            Assert.True(tensor.RawData.IsEmpty);
            var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal("external.onnx.data", entries["location"]);
            var offset = long.Parse(entries["offset"], System.Globalization.CultureInfo.InvariantCulture);
            var length = int.Parse(entries["length"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(0, offset % 4096);
            Assert.Equal(original, data.AsSpan((int)offset, length).ToArray());
            movedBytes += length;
        }
        Assert.True(movedBytes > data.Length / 2, "most of the side file should be weights, not padding");
        Assert.True(new FileInfo(externalPath).Length < 64 * 1024, "the model file should no longer hold the weights");

        Assert.Equal(Run(inlinePath), Run(externalPath));
    }

    private static float[] Run(string path)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var random = new Random(7);
        var x = new DenseTensor<float>(Enumerable.Range(0, 2 * 3 * 64 * 64).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray(), [2, 3, 64, 64]);
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor("x", x)]);
        return outputs.First().AsEnumerable<float>().ToArray();
    }
}
