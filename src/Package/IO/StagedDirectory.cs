namespace ModelForge.Package.IO;

/// <summary>
/// Writes a whole directory so that readers (a Triton server polling its repository, a TorchServe model store) see the
/// old directory or the complete new one: the content is written into a hidden sibling <c>.NAME.tmp-*</c>, then renamed
/// into place. An existing directory is first renamed aside and deleted after the swap; between those two renames the
/// name is briefly absent, never half-written.
/// </summary>
internal static class StagedDirectory
{
    public static void Write(string path, Action<string> fill)
    {
        var fullPath = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(fullPath);
        var staging = Path.Combine(parent, $".{name}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            fill(staging);
            string? old = null;
            if (Directory.Exists(fullPath))
            {
                old = Path.Combine(parent, $".{name}.old-{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.Move(fullPath, old);
            }
            Directory.Move(staging, fullPath);
            if (old is not null) TryDelete(old);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }
    }

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { /* best effort: a hidden leftover is never taken for the bundle */ }
    }
}
