using ModelForge.Core.Diagnostics;

namespace ModelForge.Model.Tensors;

/// <summary>Opening user-supplied data files (.npy/.npz) with the same diagnostics for every format.</summary>
internal static class DataFiles
{
    public static FileStream OpenRead(string path)
    {
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.FileNotFound, $"data file '{path}' does not exist",
                new SourceLocation(path)), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.DataFileInvalid, $"cannot read data file '{path}': {e.Message}",
                new SourceLocation(path)), e);
        }
    }
}
