namespace ModelForge.MSBuild.Tests;

/// <summary>
/// A project of this repository packed once (the real package, as <c>dotnet pack</c> makes it) into a local folder
/// feed under a temporary root, for the tests of a class to restore or install from.
/// </summary>
public abstract class FolderFeed : IDisposable
{
    protected FolderFeed(string name, string project)
    {
        Root = Path.Combine(Path.GetTempPath(), $"mf-{name}-" + Guid.NewGuid().ToString("N"));
        var (exitCode, output) = DotnetProcess.Run(RepoPaths.Root, "pack", project, "-c", "Debug", "-o", Feed, "-nodeReuse:false");
        if (exitCode != 0) throw new InvalidOperationException($"dotnet pack of {project} failed:\n" + output);
    }

    public string Root { get; }
    public string Feed => Path.Combine(Root, "feed");
    /// <summary>A packages folder of this run's own, so no copy of a package from an earlier run is reused.</summary>
    public string Packages => Path.Combine(Root, "packages");

    /// <summary>A nuget.config in <paramref name="directory"/> whose only source is the feed, with this run's packages folder.</summary>
    public void WriteNuGetConfig(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="local" value="{Feed}" /></packageSources>
              <config><add key="globalPackagesFolder" value="{Packages}" /></config>
            </configuration>
            """);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
        GC.SuppressFinalize(this);
    }
}

/// <summary>The test classes that pack: one at a time, since each pack builds and publishes the same projects.</summary>
[CollectionDefinition(Name)]
public sealed class PackingCollection
{
    public const string Name = "packing";
}
