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
}
