using ModelForge.Core.Diagnostics;

namespace ModelForge.Core.IO;

/// <summary>
/// The build output folder, replaced as a whole: the build writes into a hidden sibling staging folder and only a
/// complete build is renamed into place (renames within one file system are atomic). So the output folder always
/// holds either the previous complete bundle or, for the instant between the two renames, none: never a partial
/// one that a later build or a server could trust. Staging folders left by killed builds are removed by the next build.
/// </summary>
public sealed class StagedOutput : IDisposable
{
    private bool _published;

    private StagedOutput(string outputDirectory, string stagingDirectory)
    {
        OutputDirectory = outputDirectory;
        StagingDirectory = stagingDirectory;
    }

    public string OutputDirectory { get; }

    /// <summary>Where this build writes; published by <see cref="Publish"/>, deleted on dispose otherwise.</summary>
    public string StagingDirectory { get; }

    /// <summary>Where a build whose accuracy gate failed leaves its artifacts and reports, outside the output folder.</summary>
    public static string RejectedDirectory(string outputDirectory) => outputDirectory.TrimEnd(Path.DirectorySeparatorChar) + ".rejected";

    public static StagedOutput Begin(string outputDirectory)
    {
        var output = Path.GetFullPath(outputDirectory).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(output)!;
        try
        {
            Directory.CreateDirectory(parent);
            foreach (var stale in Directory.EnumerateDirectories(parent, LeftoverPattern(output)))
                TryDeleteDirectory(stale);
            var staging = Path.Combine(parent, $".{Path.GetFileName(output)}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            return new StagedOutput(output, staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(DiagnosticCode.OutputNotWritable, $"cannot create the build output next to '{output}': {e.Message}",
                new SourceLocation(output), "check that the output folder's parent exists or can be created and is writable");
        }
    }

    /// <summary>Moves the complete staging folder into place, replacing the previous bundle.</summary>
    public void Publish() => MoveTo(OutputDirectory);

    /// <summary>Moves the staging folder to <see cref="RejectedDirectory"/>; the previous bundle stays in the output folder.</summary>
    public string Reject()
    {
        var rejected = RejectedDirectory(OutputDirectory);
        MoveTo(rejected);
        return rejected;
    }

    private void MoveTo(string destination)
    {
        var previous = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.previous-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            if (Directory.Exists(destination)) Directory.Move(destination, previous);
            Directory.Move(StagingDirectory, destination);
            _published = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(DiagnosticCode.OutputNotWritable, $"cannot move the finished build into '{destination}': {e.Message}",
                new SourceLocation(destination), "close programs that hold files in the output folder open, and check permissions");
        }
        TryDeleteDirectory(previous);
    }

    public void Dispose()
    {
        if (!_published) TryDeleteDirectory(StagingDirectory);
    }

    private static string LeftoverPattern(string output) => $".{Path.GetFileName(output)}.*-*";

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover hidden staging folder is never trusted; the next build tries again.
        }
    }
}
