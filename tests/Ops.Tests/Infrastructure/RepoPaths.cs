namespace ModelForge.Ops.Tests.Infrastructure;

/// <summary>Locations inside the repository, found from the test binaries' folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The folder that holds ModelForge.sln.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>
    /// The fixtures folder: <c>$MODELFORGE_FIXTURES</c> when set (handy for trying fixtures made elsewhere),
    /// otherwise <c>&lt;root&gt;/fixtures</c>.
    /// </summary>
    public static string Fixtures
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable("MODELFORGE_FIXTURES");
            return string.IsNullOrEmpty(overridden) ? Path.Combine(Root, "fixtures") : Path.GetFullPath(overridden);
        }
    }

    /// <summary>Data files committed next to the test infrastructure.</summary>
    public static string TestData => Path.Combine(Root, "tests", "Ops.Tests", "Infrastructure", "TestData");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ModelForge.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException(
            $"No ModelForge.sln found in {AppContext.BaseDirectory} or any folder above it.");
    }
}
