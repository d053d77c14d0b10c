using System.Globalization;
using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using Onnx;

namespace ModelForge.Optimize;

/// <summary>
/// Reading and writing the ONNX models the precision rewrites work on. Reading brings externally stored weights into
/// the initializers (a rewrite reads and replaces them); writing puts weights of at least 1 KiB back into one side
/// file <c>OUT.onnx.data</c> when the input kept them there or the model would pass protobuf's 2 GiB limit.
/// </summary>
public static class OnnxModelFile
{
    private const long ProtobufLimit = int.MaxValue;
    private const long ExternalMinimumBytes = 1024;
    private const long ExternalAlignment = 4096;

    /// <summary>A model read with its weights inline, and whether its file kept them in external data.</summary>
    public sealed record Loaded(ModelProto Model, bool HadExternalData);

    public static Loaded Read(string path)
    {
        if (!File.Exists(path))
            throw Unreadable(path, $"ONNX model '{path}' does not exist");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException)
        {
            throw Unreadable(path, $"'{path}' is not a readable ONNX model: {e.Message}");
        }
        if (model.Graph is null)
            throw Unreadable(path, $"'{path}' has no graph, so it is not an ONNX model");
        var external = model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        foreach (var tensor in external) LoadExternal(path, tensor);
        return new Loaded(model, external.Count > 0);
    }

    /// <summary>Writes <paramref name="model"/> atomically (the side file first, so a model file never names missing data).</summary>
    public static void Write(ModelProto model, string path, bool externalData)
    {
        var inlineSize = model.CalculateSize();
        try
        {
            if (externalData || inlineSize >= ProtobufLimit)
            {
                var dataPath = Path.GetFullPath(path) + ".data";
                AtomicFile.Write(path, stream => AtomicFile.Write(dataPath, data => WriteExternal(model, stream, data, Path.GetFileName(dataPath))));
            }
            else
            {
                AtomicFile.Write(path, model.WriteTo);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(DiagnosticCode.OutputNotWritable, $"cannot write '{path}': {e.Message}",
                new SourceLocation(path), "check that the output directory exists or can be created and is writable");
        }
    }

    private static void WriteExternal(ModelProto model, Stream modelStream, Stream data, string location)
    {
        var headers = model.Clone();
        long offset = 0;
        foreach (var tensor in headers.Graph.Initializer)
        {
            if (tensor.RawData.Length < ExternalMinimumBytes) continue;
            var padding = (ExternalAlignment - offset % ExternalAlignment) % ExternalAlignment;
            data.Write(new byte[padding]);
            offset += padding;
            tensor.RawData.WriteTo(data);
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
        }
        headers.WriteTo(modelStream);
    }

    private static void LoadExternal(string modelPath, TensorProto tensor)
    {
        string Entry(string key) => tensor.ExternalData.FirstOrDefault(e => e.Key == key)?.Value ?? "";
        var location = Entry("location");
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var file = Path.GetFullPath(Path.Combine(folder, location));
        var inside = location.Length > 0 && !Path.IsPathRooted(location) && location.Split('/').All(part => part is not ("" or "." or ".."));
        if (!inside || !File.Exists(file))
            throw Unreadable(modelPath, $"'{modelPath}' keeps tensor '{tensor.Name}' in external data '{location}', which is not a file in the model's folder");
        long.TryParse(Entry("offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var offset);
        using var stream = File.OpenRead(file);
        var length = long.TryParse(Entry("length"), NumberStyles.None, CultureInfo.InvariantCulture, out var given) ? given : stream.Length - offset;
        if (offset < 0 || length < 0 || offset + length > stream.Length || length > Array.MaxLength)
            throw Unreadable(modelPath, $"tensor '{tensor.Name}' of '{modelPath}' lies outside its external data file '{location}'");
        var bytes = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        tensor.RawData = ByteString.CopyFrom(bytes);
        tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        tensor.ExternalData.Clear();
    }

    private static ModelForgeException Unreadable(string path, string message) =>
        new(DiagnosticCode.OptimizeModelUnreadable, message, new SourceLocation(path), "pass the .onnx file modelforge convert wrote");
}
