using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;

namespace ModelForge.Package.IO;

/// <summary>Output helpers shared by the bundle writers: atomic UTF-8 text files and the MF5001 diagnostic.</summary>
internal static class TextOutput
{
    /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
    public static void Write(string path, string text)
    {
        try
        {
            AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NotWritable(path, e);
        }
    }

    public static ModelForgeException NotWritable(string path, Exception e) =>
        new(new Diagnostic(DiagnosticCode.OutputNotWritable, $"cannot write '{path}': {e.Message}", new SourceLocation(path),
            "check that the output folder exists or can be created and is writable"), e);
}
