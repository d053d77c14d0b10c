using ModelForge.Core.Diagnostics;

namespace ModelForge.Core.IO;

/// <summary>
/// Tells a folder ModelForge wrote from one it did not, so that replacing an output never deletes a user's files.
/// Every folder ModelForge publishes carries <see cref="MarkerFileName"/>; a build folder also has its
/// <c>build-manifest.json</c>, which is how folders written before the marker existed are recognised.
/// </summary>
public static class OutputOwnership
{
    /// <summary>The small file written into every output folder ModelForge publishes.</summary>
    public const string MarkerFileName = ".modelforge";

    /// <summary>What older builds left in their output folder before the marker existed.</summary>
    private const string BuildManifestFileName = "build-manifest.json";

    private const string MarkerText = "This folder was written by ModelForge; a later run may replace it as a whole.\n";

    public static void WriteMarker(string directory) =>
        File.WriteAllText(Path.Combine(directory, MarkerFileName), MarkerText);

    /// <summary>True for a folder ModelForge may replace without asking: absent, empty, or carrying its marker.</summary>
    private static bool IsReplaceable(string directory) =>
        !Directory.Exists(directory) || FirstEntry(directory) is null || IsMarked(directory);

    public static bool IsMarked(string directory) =>
        File.Exists(Path.Combine(directory, MarkerFileName)) || File.Exists(Path.Combine(directory, BuildManifestFileName));

    /// <summary>
    /// Refuses (<see cref="DiagnosticCode.OutputNotOwned"/>) to let a run replace <paramref name="directory"/> when it holds
    /// files ModelForge did not write, unless <paramref name="force"/>; a plain file in its place is refused even then,
    /// since replacing a file with a folder is never what was meant.
    /// </summary>
    /// <param name="what">How the message names the folder, e.g. "the output folder".</param>
    /// <param name="consequence">What the run would do to it, for the message.</param>
    /// <param name="hint">The way out; the default names another folder and <c>--force</c>.</param>
    public static void EnsureReplaceable(string directory, bool force, string what = "the output folder",
        string consequence = "a run replaces that folder as a whole", string? hint = null)
    {
        var full = Path.GetFullPath(directory);
        if (File.Exists(full))
            throw new ModelForgeException(DiagnosticCode.OutputNotOwned, $"{what} '{full}' is a file, not a folder", new SourceLocation(full),
                "name a folder (it is created when absent), or move the file away");
        if (force || IsReplaceable(full)) return;
        var first = FirstEntry(full)!;
        throw new ModelForgeException(DiagnosticCode.OutputNotOwned,
            $"{what} '{full}' holds files ModelForge did not write (first: '{first}'), and {consequence}",
            new SourceLocation(full), hint ?? "choose another folder (an absent or empty one), or pass --force to replace it and everything in it");
    }

    /// <summary>The first entry of the folder in ordinal order, folders with a trailing slash; null when it is empty.</summary>
    private static string? FirstEntry(string directory) =>
        Directory.EnumerateFileSystemEntries(directory)
            .Select(e => Path.GetFileName(e) + (Directory.Exists(e) ? "/" : ""))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
}
