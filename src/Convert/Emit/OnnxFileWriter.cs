using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.Win32.SafeHandles;
using ModelForge.Convert.Frontend.Archive;
using Onnx;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Writes a <see cref="ModelProto"/> to a stream with the initializers' raw bytes copied from the source archive
/// through file reads, not through its memory mapping. Reading weights through the mapping would make every weight
/// page resident in this process (peak RSS ≈ model size + runtime); with reads through a small buffer they pass through
/// the page cache only, so conversion memory stays near the runtime's own.
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
    private const int CopyBufferSize = 1 << 20;

    public static void Write(ModelProto model, Stream stream, ExternalDataTarget? external = null)
    {
        var withoutGraph = model.Clone();
        withoutGraph.Graph = null;
        var graphShell = model.Graph.Clone();
        graphShell.Initializer.Clear();
        using var sources = new SourceFiles();
        var buffer = new byte[CopyBufferSize];
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
                CopyRaw(raw, external.Stream, sources, buffer);
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
            CopyRaw(raw, stream, sources, buffer);
        }
        output.Flush();
    }

    /// <summary>Size of a length-delimited field: tag, length varint, payload.</summary>
    private static long FieldSize(int field, long payload) =>
        CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(checked((int)payload)) + payload;

    private static void CopyRaw(ReadOnlyMemory<byte> raw, Stream destination, SourceFiles sources, byte[] buffer)
    {
        if (!MemoryMarshal.TryGetMemoryManager<byte, MappedMemoryManager>(raw, out var mapped, out var start, out var length))
        {
            destination.Write(raw.Span);
            return;
        }
        var handle = sources.Open(mapped.Owner.FilePath);
        var offset = mapped.FileOffset + start;
        for (var done = 0; done < length;)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, Math.Min(buffer.Length, length - done)), offset + done);
            if (read <= 0) throw new EndOfStreamException($"'{mapped.Owner.FilePath}' ended while copying a weight; was it changed during the conversion?");
            destination.Write(buffer, 0, read);
            done += read;
        }
    }

    /// <summary>
    /// A private copy of constant bytes. Archive weights are read with file reads, not through the mapping, so the
    /// copy is the only resident instance (passes that compute new weights from old ones use this).
    /// </summary>
    public static byte[] CopyOut(ReadOnlyMemory<byte> raw)
    {
        var copy = new byte[raw.Length];
        using var stream = new MemoryStream(copy);
        using var sources = new SourceFiles();
        CopyRaw(raw, stream, sources, new byte[Math.Min(CopyBufferSize, Math.Max(raw.Length, 1))]);
        return copy;
    }

    /// <summary>Read handles on the archives weights come from, opened once each.</summary>
    private sealed class SourceFiles : IDisposable
    {
        private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);

        public SafeFileHandle Open(string path)
        {
            if (!_handles.TryGetValue(path, out var handle))
                _handles[path] = handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            return handle;
        }

        public void Dispose()
        {
            foreach (var handle in _handles.Values) handle.Dispose();
        }
    }
}
