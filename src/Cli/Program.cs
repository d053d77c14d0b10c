using System.CommandLine;
using ModelForge.Cli.Commands;

namespace ModelForge.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRootCommand().Parse(args).Invoke();

    internal static RootCommand BuildRootCommand() => new(
        "ModelForge: a build-time model compiler. Converts TorchScript archives (torch.jit.trace/script + save) " +
        "to ONNX without Python, and checks the result against the original model.")
    {
        ConvertCommand.Create(),
        ValidateCommand.Create(),
        EngineCommand.Create(),
        PackageCommand.Create(),
        BuildCommand.Create(),
    };
}
