namespace ModelForge.Core.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content, never a prefix:
/// the bytes go to a temporary file in the same directory, are flushed to disk, and the temporary file is
/// renamed over the target (rename is atomic within one file system). An interrupted run leaves only a
/// <c>.tmp-*</c> file, which no later stage treats as an artifact.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: a stray temp file is harmless, it never looks complete */ }
    }
}
