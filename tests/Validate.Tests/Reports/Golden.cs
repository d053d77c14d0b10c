using System.Runtime.CompilerServices;
using System.Text;

namespace ModelForge.Validate.Tests.Reports;

/// <summary>
/// Golden-file comparison against tests/Validate.Tests/Reports/Golden/&lt;name&gt;.
/// To regenerate after an intended format change, run the tests with MODELFORGE_UPDATE_GOLDEN=1:
/// <c>MODELFORGE_UPDATE_GOLDEN=1 dotnet test tests/Validate.Tests --filter FullyQualifiedName~Reports</c>;
/// the tests then rewrite the golden files instead of comparing (and pass). Review the diff before committing.
/// </summary>
internal static class Golden
{
    public static bool Updating => Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_GOLDEN") == "1";

    public static void Check(string actual, string name, [CallerFilePath] string sourceFile = "")
    {
        var path = Path.Combine(Directory(sourceFile), name);
        if (Updating)
        {
            File.WriteAllText(path, actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run the tests with MODELFORGE_UPDATE_GOLDEN=1 to create it.");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// The Golden folder beside this source file. A build with a source path map (ContinuousIntegrationBuild) gives
    /// a caller path that does not exist on disk; then the folder is found from the repository root instead.
    /// </summary>
    private static string Directory(string sourceFile)
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(sourceFile) ?? "", "Golden");
        return System.IO.Directory.Exists(besideSource)
            ? besideSource
            : Path.Combine(RepoPaths.Root, "tests", "Validate.Tests", "Reports", "Golden");
    }
}
