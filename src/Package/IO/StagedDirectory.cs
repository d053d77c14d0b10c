using ModelForge.Core.IO;

namespace ModelForge.Package.IO;

/// <summary>
/// Writes a whole directory so that readers (a Triton server polling its repository, a TorchServe model store) see the
/// old directory or the complete new one: <see cref="StagedOutput"/>, the same mechanism <c>modelforge build</c> uses.
/// These folders sit inside a bundle whose root the command checked and marked (<see cref="OutputOwnership"/>), so
/// they are replaced without a check and get no marker of their own, which a server would see as an extra file.
/// </summary>
internal static class StagedDirectory
{
    public static void Write(string path, Action<string> fill)
    {
        using var staged = StagedOutput.Begin(path, force: true, writeMarker: false);
        fill(staged.StagingDirectory);
        staged.Publish();
    }

    /// <summary>
    /// Writes a directory that must not exist yet, inside a folder ModelForge does not own (a user's Triton repository):
    /// filled in a hidden sibling, then renamed into place, which fails rather than replace a directory that appeared
    /// meanwhile. Nothing else in the parent is touched: a staging folder left by a killed run stays (hidden, and not a
    /// number, so Triton never takes it for a version), since it may belong to another run still writing.
    /// </summary>
    /// <returns>False when <paramref name="path"/> exists (it appeared meanwhile): nothing was written.</returns>
    /// <exception cref="IOException">The files could not be written.</exception>
    public static bool WriteNew(string path, Action<string> fill)
    {
        var staging = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            fill(staging);
            Directory.Move(staging, path);
            return true;
        }
        catch (IOException) when (Directory.Exists(path))
        {
            DeleteStaging(staging);
            return false;
        }
        catch
        {
            DeleteStaging(staging);
            throw;
        }
    }

    private static void DeleteStaging(string staging)
    {
        try { Directory.Delete(staging, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* hidden and never trusted: harmless */ }
    }
}
