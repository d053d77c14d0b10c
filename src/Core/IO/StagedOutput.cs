using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Core.IO;

/// <summary>
/// The build output folder, replaced as a whole: the build writes into a hidden sibling staging folder and only a
/// complete build is renamed into place (renames within one file system are atomic). So the output folder always
/// holds either the previous complete bundle or, for the instant between the two renames, none: never a partial
/// one that a later build or a server could trust. Staging folders left by killed builds are removed by the next build.
/// Only a folder ModelForge wrote is replaced (<see cref="OutputOwnership"/>): the staging folder carries the marker
/// that says so, and a folder holding anything else is refused unless the caller was told to force it.
/// </summary>
public sealed class StagedOutput : IDisposable
{
    private readonly bool _force;
    private bool _published;

    private StagedOutput(string outputDirectory, string stagingDirectory, bool force)
    {
        OutputDirectory = outputDirectory;
        StagingDirectory = stagingDirectory;
        _force = force;
    }

    public string OutputDirectory { get; }

    /// <summary>Where this build writes; published by <see cref="Publish"/>, deleted on dispose otherwise.</summary>
    public string StagingDirectory { get; }

    /// <summary>Where a build whose accuracy gate failed leaves its artifacts and reports, outside the output folder.</summary>
    public static string RejectedDirectory(string outputDirectory) => outputDirectory.TrimEnd(Path.DirectorySeparatorChar) + ".rejected";

    /// <param name="force">Replace the output folder even when it holds files ModelForge did not write (<c>--force</c>).</param>
    /// <param name="writeMarker">
    /// False for a folder published inside an output that already carries the marker (a Triton model folder in a bundle),
    /// where a server would see the extra file.
    /// </param>
    public static StagedOutput Begin(string outputDirectory, bool force = false, bool writeMarker = true)
    {
        var output = Path.GetFullPath(outputDirectory).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(output)!;
        OutputOwnership.EnsureReplaceable(output, force);
        try
        {
            Directory.CreateDirectory(parent);
            var leftover = LeftoverPattern(output);
            foreach (var stale in Directory.EnumerateDirectories(parent).Where(d => leftover.IsMatch(Path.GetFileName(d))))
                TryDeleteDirectory(stale);
            var staging = Path.Combine(parent, $".{Path.GetFileName(output)}.{StagingInfix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            if (writeMarker) OutputOwnership.WriteMarker(staging);
            return new StagedOutput(output, staging, force);
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
        OutputOwnership.EnsureReplaceable(rejected, _force, "the rejected-build folder");
        MoveTo(rejected);
        return rejected;
    }

    private void MoveTo(string destination)
    {
        var previous = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.{PreviousInfix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
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

    private const string StagingInfix = "staging";
    private const string PreviousInfix = "previous";

    /// <summary>Exactly the names this class gives its hidden siblings, so a user's folder is never taken for a leftover.</summary>
    private static Regex LeftoverPattern(string output) =>
        new($"^\\.{Regex.Escape(Path.GetFileName(output))}\\.({StagingInfix}|{PreviousInfix})-[0-9]+-[0-9a-f]+$", RegexOptions.CultureInvariant);

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
