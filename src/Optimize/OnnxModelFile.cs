using System.Globalization;
using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Optimize.Onnx;
using Onnx;

namespace ModelForge.Optimize;

/// <summary>
/// Reading and writing the ONNX models the precision rewrites work on. Reading maps externally stored weights into
/// the initializers' <c>raw_data</c> without copying them (<see cref="MappedExternalData"/>): a rewrite reads and
/// replaces them as if they were inline, ONNX Runtime is given the file itself (<see cref="ForOnnxRuntime"/>), and
/// writing streams them out, so a model past protobuf's 2 GiB limit is never held twice. Writing puts weights of at
/// least 1 KiB into one side file <c>OUT.onnx.data</c> when the input kept them there or the model would pass the
/// threshold (protobuf's 2 GiB limit by default).
/// </summary>
public static class OnnxModelFile
{
    /// <summary>The largest model protobuf can write inline; beyond it weights must go to external data.</summary>
    public const long ProtobufLimit = int.MaxValue;
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
        var files = new Dictionary<string, MappedExternalData>(StringComparer.Ordinal);
        foreach (var tensor in external) MapExternal(path, tensor, files);
        return new Loaded(model, external.Count > 0);
    }

    /// <summary>
    /// Writes <paramref name="model"/> atomically (the side file first, so a model file never names missing data), with
    /// its weights in <c>OUT.onnx.data</c> when <paramref name="externalData"/> or when inline it would be larger than
    /// <paramref name="externalThreshold"/> bytes. Returns whether it wrote the side file.
    /// </summary>
    public static bool Write(ModelProto model, string path, bool externalData, long externalThreshold = ProtobufLimit)
    {
        var inlineSize = model.CalculateSize();
        var external = externalData || inlineSize > externalThreshold || inlineSize >= ProtobufLimit;
        try
        {
            if (external)
            {
                var dataPath = Path.GetFullPath(path) + ".data";
                AtomicFile.Write(path, stream => AtomicFile.Write(dataPath, data => WriteExternal(model, stream, data, Path.GetFileName(dataPath))));
            }
            else
            {
                AtomicFile.Write(path, model.WriteTo);
            }
            return external;
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
            AddExternalReference(tensor, location, offset, tensor.RawData.Length);
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
        }
        headers.WriteTo(modelStream);
    }

    /// <summary>
    /// The model as ONNX Runtime loads it from memory, and the session entries it needs: each weight still mapped from
    /// the input's external data is written as a reference to that file (ORT maps the file itself), so the weights are
    /// neither serialised into the bytes nor copied into ORT's heap; ORT's prepacked copies of them are turned off too.
    /// A model with no mapped weight is serialised as it is, with no entries.
    /// </summary>
    public static (byte[] Bytes, IReadOnlyDictionary<string, string> SessionEntries) ForOnnxRuntime(ModelProto model)
    {
        string? folder = null;
        var headers = model.Clone();
        foreach (var tensor in headers.Graph.Initializer)
        {
            if (!MappedExternalData.TryLocate(tensor.RawData, out var file, out var offset)) continue;
            folder = file.Folder;
            var length = tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
            AddExternalReference(tensor, file.Location, offset, length);
        }
        if (folder is null) return (model.ToByteArray(), new Dictionary<string, string>());
        return (headers.ToByteArray(), new Dictionary<string, string>
        {
            [ExternalInitializersFolder] = folder,
            [DisablePrepacking] = "1",
        });
    }

    /// <summary>ORT's session entry naming the folder external data is resolved in when the model is loaded from memory.</summary>
    private const string ExternalInitializersFolder = "session.model_external_initializers_file_folder_path";

    /// <summary>ORT's session entry that keeps weights as they are instead of adding a prepacked copy of each.</summary>
    private const string DisablePrepacking = "session.disable_prepacking";

    private static void AddExternalReference(TensorProto tensor, string location, long offset, long length)
    {
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(CultureInfo.InvariantCulture) });
    }

    private static void MapExternal(string modelPath, TensorProto tensor, Dictionary<string, MappedExternalData> files)
    {
        string Entry(string key) => tensor.ExternalData.FirstOrDefault(e => e.Key == key)?.Value ?? "";
        var location = Entry("location");
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var inside = location.Length > 0 && !Path.IsPathRooted(location) && location.Split('/').All(part => part is not ("" or "." or ".."));
        if (!inside || !File.Exists(Path.Combine(folder, location)))
            throw Unreadable(modelPath, $"'{modelPath}' keeps tensor '{tensor.Name}' in external data '{location}', which is not a file in the model's folder");
        if (!files.TryGetValue(location, out var file))
        {
            try
            {
                file = files[location] = new MappedExternalData(folder, location);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Unreadable(modelPath, $"cannot read the external data file '{location}' of '{modelPath}': {e.Message}");
            }
        }
        long.TryParse(Entry("offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var offset);
        var length = long.TryParse(Entry("length"), NumberStyles.None, CultureInfo.InvariantCulture, out var given) ? given : file.Length - offset;
        if (offset < 0 || length < 0 || offset + length > file.Length || length > Array.MaxLength)
            throw Unreadable(modelPath, $"tensor '{tensor.Name}' of '{modelPath}' lies outside its external data file '{location}'");
        tensor.RawData = file.Tensor(offset, (int)length);
        tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        tensor.ExternalData.Clear();
    }

    private static ModelForgeException Unreadable(string path, string message) =>
        new(DiagnosticCode.OptimizeModelUnreadable, message, new SourceLocation(path), "pass the .onnx file modelforge convert wrote");
}
