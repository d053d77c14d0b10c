using ModelForge.Core.IO;

namespace ModelForge.Package.IO;

/// <summary>
/// Writes a whole directory so that readers (a Triton server polling its repository, a TorchServe model store) see the
/// old directory or the complete new one: <see cref="StagedOutput"/>, the same mechanism <c>modelforge build</c> uses.
/// </summary>
internal static class StagedDirectory
{
    public static void Write(string path, Action<string> fill)
    {
        using var staged = StagedOutput.Begin(path);
        fill(staged.StagingDirectory);
        staged.Publish();
    }
}
