using System.Xml.Linq;

namespace ModelForge.Model.Tests;

/// <summary>
/// The seams between the projects under <c>src/</c>, read from their <c>.csproj</c> files: the model's contract (Model)
/// depends on nothing but Core, and the stages that only need the contract do not reach the converter.
/// </summary>
public sealed class ProjectReferenceTests
{
    /// <summary>Each project under src/ (by folder name) and the projects it references directly.</summary>
    private static readonly Dictionary<string, string[]> References = Directory
        .EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.csproj", SearchOption.AllDirectories)
        .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
        .ToDictionary(
            path => Path.GetFileName(Path.GetDirectoryName(path))!,
            path => XDocument.Load(path).Descendants("ProjectReference")
                .Select(r => Path.GetFileName(Path.GetDirectoryName(r.Attribute("Include")!.Value.Replace('\\', '/')))!)
                .Order(StringComparer.Ordinal)
                .ToArray());

    /// <summary>Everything <paramref name="project"/> reaches through its references.</summary>
    private static SortedSet<string> Reachable(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(References[project]);
        while (pending.TryPop(out var next))
            if (seen.Add(next))
                foreach (var reference in References[next]) pending.Push(reference);
        return seen;
    }

    [Fact]
    public void The_projects_are_the_ones_these_rules_speak_of()
    {
        Assert.Subset(References.Keys.ToHashSet(),
            new HashSet<string> { "Core", "Model", "TorchScript", "Convert", "Runtime", "Engine", "Validate", "Package", "Pipeline", "Cli" });
    }

    [Fact]
    public void Model_references_only_Core()
    {
        Assert.Equal(["Core"], References["Model"]);
    }

    [Fact]
    public void TorchScript_references_only_Core_and_Model()
    {
        Assert.Equal(["Core", "Model"], References["TorchScript"]);
    }

    [Fact]
    public void Only_Pipeline_and_Cli_reference_Convert()
    {
        var referencing = References.Where(p => p.Value.Contains("Convert")).Select(p => p.Key).Order(StringComparer.Ordinal);

        Assert.Equal(["Cli", "Pipeline"], referencing);
    }

    [Theory]
    [InlineData("Engine")]
    [InlineData("Validate")]
    [InlineData("Package")]
    [InlineData("Runtime")]
    [InlineData("TorchScript")]
    [InlineData("Model")]
    public void The_stages_do_not_reach_the_converter(string project)
    {
        Assert.DoesNotContain("Convert", Reachable(project));
    }

    /// <summary>Packaging reads .npz files (a Triton warm-up sample) through Model's tensors, not through the accuracy gate.</summary>
    [Fact]
    public void Package_does_not_reach_Validate()
    {
        Assert.DoesNotContain("Validate", Reachable("Package"));
    }

    [Theory]
    [InlineData("Engine")]
    [InlineData("Validate")]
    [InlineData("Package")]
    [InlineData("TorchScript")]
    public void The_stages_that_read_a_models_signature_reach_the_contract(string project)
    {
        Assert.Contains("Model", Reachable(project));
    }
}
