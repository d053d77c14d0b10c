using System.Text;

namespace ModelForge.Tests;

/// <summary>
/// Golden-file comparison shared by the test projects. To regenerate after an intended format change, run the tests
/// with MODELFORGE_UPDATE_GOLDEN=1: the tests then rewrite the golden files instead of comparing (and pass). Review the
/// diff before committing.
/// </summary>
internal static class GoldenFiles
{
    public static bool Updating => Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_GOLDEN") == "1";

    public static void Check(string actual, string goldenDirectory, string name)
    {
        var path = Path.Combine(goldenDirectory, name);
        if (Updating)
        {
            System.IO.Directory.CreateDirectory(goldenDirectory);
            File.WriteAllText(path, actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run the tests with MODELFORGE_UPDATE_GOLDEN=1 to create it.");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// The Golden folder beside a test source file. A build with a source path map (ContinuousIntegrationBuild) gives
    /// a caller path that does not exist on disk; then <paramref name="fromRoot"/> under the repository root is used.
    /// </summary>
    public static string Directory(string sourceFile, params string[] fromRoot)
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(sourceFile) ?? "", "Golden");
        return System.IO.Directory.Exists(besideSource) ? besideSource : Path.Combine([RepoPaths.Root, .. fromRoot]);
    }
}
