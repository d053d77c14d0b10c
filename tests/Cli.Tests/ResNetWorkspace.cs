namespace ModelForge.Cli.Tests;

/// <summary>
/// A scratch folder plus the small ResNet fixture, converted on demand through the CLI: what the command tests
/// that start from a converted model share. Dispose deletes the folder.
/// </summary>
internal sealed class ResNetWorkspace : IDisposable
{
    public const string Input = "x:float32[batch,3,64,64]";
    public static readonly string Model = RepoPaths.Fixture("models", "resnet18_small", "model.pt");

    public ResNetWorkspace(string prefix) => Directory = System.IO.Directory.CreateTempSubdirectory(prefix).FullName;

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Converts the model to <c>resnet.onnx</c> in the folder and returns its path.</summary>
    public string Converted()
    {
        var path = PathOf("resnet.onnx");
        Assert.Equal(0, CliRunner.Run("convert", Model, "--input", Input, "-o", path).ExitCode);
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
