using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Tests;

/// <summary>A temporary folder for spec files; deleted on dispose.</summary>
internal sealed class SpecWorkspace : IDisposable
{
    public static readonly string ResNetModel = RepoPaths.Fixture("models", "resnet18_small", "model.pt");

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "mf-spec-" + Guid.NewGuid().ToString("N"));

    public SpecWorkspace() => System.IO.Directory.CreateDirectory(Directory);

    /// <summary>Writes <paramref name="json"/> as a spec in the workspace and returns its path.</summary>
    public string Write(string json, string name = "model.modelforge.json")
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, json);
        return path;
    }

    public ModelSpec Load(string json) => SpecReader.Load(Write(json));

    /// <summary>A minimal valid spec for the ResNet fixture, with <paramref name="extra"/> fields added.</summary>
    public static string ResNetSpec(string extra = "") => $$"""
        {
          "source": {{System.Text.Json.JsonSerializer.Serialize(ResNetModel)}},
          "inputs": [ { "name": "x", "dtype": "float32", "shape": ["batch", 3, 64, 64] } ]{{(extra.Length > 0 ? "," : "")}}
          {{extra}}
        }
        """;

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
