using System.Runtime.CompilerServices;

namespace ModelForge.Validate.Tests.Reports;

/// <summary>
/// Golden-file comparison against tests/Validate.Tests/Reports/Golden/&lt;name&gt; (see <see cref="GoldenFiles"/>):
/// <c>MODELFORGE_UPDATE_GOLDEN=1 dotnet test tests/Validate.Tests --filter FullyQualifiedName~Reports</c> regenerates them.
/// </summary>
internal static class Golden
{
    public static bool Updating => GoldenFiles.Updating;

    public static void Check(string actual, string name, [CallerFilePath] string sourceFile = "") =>
        GoldenFiles.Check(actual, GoldenFiles.Directory(sourceFile, "tests", "Validate.Tests", "Reports", "Golden"), name);
}
