namespace ModelForge.Tests;

/// <summary>
/// Locations inside the repository, found from the test binaries' folder. Compiled into every test project
/// (see the test .csproj files), so each finds the root the same way.
/// </summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The folder that holds ModelForge.sln.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>
    /// The fixtures folder: <c>$MODELFORGE_FIXTURES</c> when set (handy for trying fixtures made elsewhere),
    /// otherwise <c>&lt;root&gt;/fixtures</c>.
    /// </summary>
    public static string Fixtures =>
        Environment.GetEnvironmentVariable("MODELFORGE_FIXTURES") is { Length: > 0 } overridden
            ? Path.GetFullPath(overridden)
            : Path.Combine(Root, "fixtures");

    /// <summary>A path under the fixtures folder, e.g. <c>Fixture("models", "resnet18_small", "model.pt")</c>.</summary>
    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelForge.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No ModelForge.sln found in {AppContext.BaseDirectory} or any folder above it.");
    }
}
