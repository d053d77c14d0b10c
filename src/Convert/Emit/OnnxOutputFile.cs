using Google.Protobuf;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Emit;

/// <summary>
/// Whether <c>convert -o PATH</c> may write PATH: a file that is not a ModelForge ONNX model (another exporter's model,
/// anything else) is never overwritten without <c>--force</c>, and a folder is never replaced by a file.
/// </summary>
public static class OnnxOutputFile
{
    public static void EnsureWritable(string path, bool force)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ModelForgeException(DiagnosticCode.OutputNotOwned, $"-o '{full}' is a folder; convert writes one ONNX file", new SourceLocation(full),
                $"name the file, e.g. -o {Path.Combine(full, "model.onnx")}");
        if (force) return;
        var data = ConversionResult.ExternalDataPathFor(full);
        var foreign = File.Exists(full) && !IsWrittenByModelForge(full) ? full
            : File.Exists(data) && !(File.Exists(full) && IsWrittenByModelForge(full)) ? data
            : null;
        if (foreign is not null)
            throw new ModelForgeException(DiagnosticCode.OutputNotOwned,
                $"'{foreign}' exists and was not written by ModelForge; convert would overwrite it", new SourceLocation(foreign),
                "choose another -o path, or pass --force to overwrite it");
    }

    /// <summary>
    /// True when the file is an ONNX model whose <c>producer_name</c> is ModelForge's. Protobuf writes fields in number
    /// order and <c>producer_name</c> is field 2, so only the first few bytes are read, however large the model.
    /// </summary>
    public static bool IsWrittenByModelForge(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var input = new CodedInputStream(stream);
            while (input.ReadTag() is var tag and not 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                if (field == 2 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    return input.ReadString() == OnnxEmitter.ProducerName;
                if (field > 2) return false;
                input.SkipLastField();
            }
            return false;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
