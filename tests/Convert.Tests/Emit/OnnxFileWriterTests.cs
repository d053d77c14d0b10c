using ModelForge.Convert;
using ModelForge.Convert.Emit;
using ModelForge.Convert.IR;
using Onnx;

namespace ModelForge.Convert.Tests.Emit;

/// <summary>
/// The streaming writer (weights copied with file reads, raw_data written last) must produce a model equal to
/// plain protobuf serialization, and the same bytes every time.
/// </summary>
public sealed class OnnxFileWriterTests
{
    private static ConversionResult ConvertResNet() => ModelConverter.Convert(RepoPaths.Fixture("models", "resnet18_small", "model.pt"),
        new ConvertOptions([new InputSpec("x", DataType.Float32, [Dim.Named("batch"), 3, 64, 64])]));

    [Fact]
    public void Streamed_file_parses_to_the_same_model_as_protobuf_serialization()
    {
        using var result = ConvertResNet();
        using var stream = new MemoryStream();
        OnnxFileWriter.Write(result.Model, stream);

        var streamed = ModelProto.Parser.ParseFrom(stream.ToArray());
        Assert.Equal(result.Model, streamed);
        Assert.Equal(result.Model.CalculateSize(), stream.Length);
        Assert.All(streamed.Graph.Initializer, t => Assert.False(t.RawData.IsEmpty, $"{t.Name} lost its weights"));
    }

    [Fact]
    public void Streamed_bytes_are_identical_across_conversions()
    {
        byte[] Write()
        {
            using var result = ConvertResNet();
            using var stream = new MemoryStream();
            OnnxFileWriter.Write(result.Model, stream);
            return stream.ToArray();
        }
        Assert.Equal(Write(), Write());
    }
}
