using System.Runtime.CompilerServices;
using System.Text;
using ModelForge.Convert;
using ModelForge.Model;

namespace ModelForge.Engine.Tests;

/// <summary>A [Fact] that runs only where the TensorRT probe session succeeds; elsewhere it is skipped with the probe's reason.</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        if (!EngineProbe.TensorRt.Available) Skip = $"needs TensorRT: {EngineProbe.TensorRt.Reason}";
    }
}

/// <summary>A [Fact] about the no-TensorRT path: it runs where the probe fails (CI, this machine) and is skipped on a GPU machine.</summary>
public sealed class NoTensorRtFactAttribute : FactAttribute
{
    public NoTensorRtFactAttribute()
    {
        if (EngineProbe.TensorRt.Available) Skip = "TensorRT is available here, so the skip path cannot be exercised";
    }
}

/// <summary>
/// Golden files under tests/Engine.Tests/Golden/. Run with MODELFORGE_UPDATE_GOLDEN=1 to rewrite them after an
/// intended format change (then review the diff).
/// </summary>
internal static class Golden
{
    public static void Check(string actual, string name, [CallerFilePath] string sourceFile = "")
    {
        var besideSource = Path.Combine(Path.GetDirectoryName(sourceFile) ?? "", "Golden");
        var directory = Directory.Exists(besideSource) ? besideSource : Path.Combine(RepoPaths.Root, "tests", "Engine.Tests", "Golden");
        var path = Path.Combine(directory, name);
        if (Environment.GetEnvironmentVariable("MODELFORGE_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run the tests with MODELFORGE_UPDATE_GOLDEN=1 to create it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }
}

/// <summary>fixtures/models/resnet18_small converted to ONNX once per test class, in a temporary folder.</summary>
public sealed class ResNetOnnx : IDisposable
{
    public const string InputText = "x:float32[batch,3,64,64]";
    public static InputSpec Input => InputSpec.Parse(InputText);

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("modelforge-engine-").FullName;
    public string Path { get; }

    public ResNetOnnx()
    {
        Path = System.IO.Path.Combine(Directory, "resnet18_small.onnx");
        using var result = ModelConverter.Convert(RepoPaths.Fixture("models", "resnet18_small", "model.pt"), new ConvertOptions([Input]));
        result.WriteTo(Path);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
