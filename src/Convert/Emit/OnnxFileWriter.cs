using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Writes a <see cref="ModelProto"/> to a stream with the initializers' raw bytes copied from the source archive
/// through file reads, not through its memory mapping. Reading weights through the mapping would make every weight
/// page resident in this process (peak RSS ≈ model size + runtime); with reads through a small buffer they pass through
/// the page cache only, so conversion memory stays near the runtime's own. Weights a pass computed
/// (<see cref="ComputedBytes"/>, e.g. BatchNorm-folded Conv weights) are computed chunk by chunk as they are written.
/// </summary>
/// <remarks>
/// Protobuf lets a message's fields appear in any order and repeated fields be split, so the file is written as:
/// the model without its graph, then the graph field holding the graph without initializers followed by each
/// initializer (its header fields, then <c>raw_data</c> last). The layout is a function of the model alone, so the
/// output stays byte-for-byte deterministic.
/// <para>
/// With an <see cref="ExternalDataTarget"/>, every initializer of at least <see cref="ExternalDataTarget.MinimumBytes"/>
/// goes to one side file instead, in ONNX's external-data format: the tensor keeps its header, with
/// <c>data_location = EXTERNAL</c> and <c>external_data</c> entries <c>location</c> (the side file's name, relative
/// to the model), <c>offset</c> and <c>length</c>; offsets are multiples of <see cref="ExternalDataTarget.Alignment"/>
/// (zero padding between tensors) so runtimes can map each tensor. Weights are streamed the same way in both cases.
/// </para>
/// </remarks>
public static class OnnxFileWriter
{
    /// <summary>Protobuf cannot parse a message of 2 GiB or more; a model over this size needs external data.</summary>
    public const long ProtobufLimit = int.MaxValue;

    /// <summary>Where external tensor data goes: the side file's stream and the name the model records for it.</summary>
    public sealed record ExternalDataTarget(Stream Stream, string Location)
    {
        /// <summary>Smaller tensors stay inline (as onnx.save_model's default size_threshold does).</summary>
        public long MinimumBytes { get; init; } = 1024;

        /// <summary>Offset alignment in the side file: a page, so runtimes can memory-map each tensor.</summary>
        public long Alignment { get; init; } = 4096;
    }

    /// <summary>The size the model has when written without external data: its own size plus every weight.</summary>
    public static long InlineSize(ModelProto model)
    {
        var withoutWeights = model.Clone();
        long raw = 0;
        foreach (var tensor in withoutWeights.Graph.Initializer)
        {
            raw += tensor.RawData.Length + 16;
            tensor.RawData = ByteString.Empty;
        }
        return withoutWeights.CalculateSize() + raw;
    }

    private const int ModelGraphField = 7;
    private const int GraphInitializerField = 5;
    private const int TensorRawDataField = 9;

    public static void Write(ModelProto model, Stream stream, ExternalDataTarget? external = null)
    {
        var withoutGraph = model.Clone();
        withoutGraph.Graph = null;
        var graphShell = model.Graph.Clone();
        graphShell.Initializer.Clear();
        using var weights = new WeightStreamer();
        long externalOffset = 0;
        var initializers = model.Graph.Initializer.Select(tensor =>
        {
            var header = tensor.Clone();
            header.RawData = ByteString.Empty;
            var raw = tensor.RawData.Memory;
            if (external is not null && raw.Length >= external.MinimumBytes)
            {
                var padding = (external.Alignment - externalOffset % external.Alignment) % external.Alignment;
                external.Stream.Write(new byte[padding]);
                externalOffset += padding;
                header.DataLocation = TensorProto.Types.DataLocation.External;
                header.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = external.Location });
                header.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = externalOffset.ToString(CultureInfo.InvariantCulture) });
                header.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = raw.Length.ToString(CultureInfo.InvariantCulture) });
                weights.Copy(raw, external.Stream.Write);
                externalOffset += raw.Length;
                raw = ReadOnlyMemory<byte>.Empty;
                return (Header: header, Raw: raw, Length: header.CalculateSize(), Inline: false);
            }
            var length = checked((int)(header.CalculateSize() + FieldSize(TensorRawDataField, raw.Length)));
            return (Header: header, Raw: raw, Length: length, Inline: true);
        }).ToList();

        var output = new CodedOutputStream(stream, leaveOpen: true);
        withoutGraph.WriteTo(output);
        long graphLength = graphShell.CalculateSize() + initializers.Sum(i => FieldSize(GraphInitializerField, i.Length));
        output.WriteTag(ModelGraphField, WireFormat.WireType.LengthDelimited);
        output.WriteLength(checked((int)graphLength));
        graphShell.WriteTo(output);

        foreach (var (header, raw, length, inline) in initializers)
        {
            output.WriteTag(GraphInitializerField, WireFormat.WireType.LengthDelimited);
            output.WriteLength(length);
            header.WriteTo(output);
            if (!inline) continue;
            output.WriteTag(TensorRawDataField, WireFormat.WireType.LengthDelimited);
            output.WriteLength(raw.Length);
            output.Flush();
            weights.Copy(raw, stream.Write);
        }
        output.Flush();
    }

    /// <summary>Size of a length-delimited field: tag, length varint, payload.</summary>
    private static long FieldSize(int field, long payload) =>
        CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(checked((int)payload)) + payload;
}
