using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace ModelForge.MSBuild.Tasks;

/// <summary>
/// Runs <c>modelforge build</c> for one model, out of process: the CLI loads ONNX Runtime and libtorch, the MSBuild
/// node never does. The CLI prints diagnostics in MSBuild's canonical format (<c>file(line,col): error MF1234: …</c>),
/// which <see cref="ToolTask"/> turns into build errors and warnings with their code and location.
/// </summary>
public sealed class ModelForgeBuild : ToolTask
{
    /// <summary>A <c>*.modelforge.json</c> spec, or a TorchScript <c>.pt</c> together with <see cref="Inputs"/>.</summary>
    [Required]
    public string Source { get; set; } = "";

    /// <summary>The bundle's output folder (replaced as a whole by each build).</summary>
    [Required]
    public string OutputDirectory { get; set; } = "";

    /// <summary>The folder holding the published CLI (<c>modelforge.dll</c>).</summary>
    [Required]
    public string ToolDirectory { get; set; } = "";

    /// <summary>For a <c>.pt</c> source: <c>NAME:DTYPE[DIMS]</c> per forward() input.</summary>
    public string[] Inputs { get; set; } = [];

    /// <summary><c>Error</c> (accuracy mismatches fail the build: the CI gate) or <c>Warning</c>; empty leaves the spec's choice.</summary>
    public string AccuracyFailures { get; set; } = "";

    /// <summary>TensorRT engine cache shared between builds; empty for the CLI's default.</summary>
    public string EngineCache { get; set; } = "";

    /// <summary>Where the CLI lists every file the build read (<c>--dependency-file</c>), for the next build's Inputs; empty for none.</summary>
    public string DependencyFile { get; set; } = "";

    protected override string ToolName => "dotnet";

    /// <summary>The same dotnet host that runs this build (the SDK sets DOTNET_HOST_PATH for tasks), else dotnet on PATH.</summary>
    protected override string GenerateFullPathToTool() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : ToolName;

    // A few lines per model (stage, outcome, time): worth seeing at dotnet build's default verbosity.
    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.High;

    protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

    protected override bool ValidateParameters()
    {
        var mode = AccuracyFailures.Trim().ToLowerInvariant();
        if (mode is not ("" or "error" or "warning"))
        {
            Log.LogError(null, "MF5003", null, null, 0, 0, 0, 0,
                "ModelForgeAccuracyFailures is '{0}'; use Error (accuracy mismatches fail the build) or Warning", AccuracyFailures);
            return false;
        }
        var cli = Path.Combine(ToolDirectory, "modelforge.dll");
        if (!File.Exists(cli))
        {
            Log.LogError(null, "MF5003", null, null, 0, 0, 0, 0,
                "the ModelForge CLI is missing at '{0}'; restore the ModelForge.Build package again", cli);
            return false;
        }
        return true;
    }

    /// <summary>The arguments after the tool path, as they will run (for logs and tests).</summary>
    internal string CommandLine() => GenerateCommandLineCommands();

    protected override string GenerateCommandLineCommands()
    {
        var command = new CommandLineBuilder();
        command.AppendFileNameIfNotNull(Path.Combine(ToolDirectory, "modelforge.dll"));
        command.AppendSwitch("build");
        command.AppendFileNameIfNotNull(Source);
        command.AppendSwitchIfNotNull("--output ", OutputDirectory);
        foreach (var input in Inputs) command.AppendSwitchIfNotNull("--input ", input);
        if (AccuracyFailures.Length > 0) command.AppendSwitchIfNotNull("--on-accuracy-failure ", AccuracyFailures.Trim().ToLowerInvariant());
        if (EngineCache.Length > 0) command.AppendSwitchIfNotNull("--engine-cache ", EngineCache);
        if (DependencyFile.Length > 0) command.AppendSwitchIfNotNull("--dependency-file ", DependencyFile);
        // A live terminal display would be noise in a build log.
        command.AppendSwitch("--progress plain");
        return command.ToString();
    }
}
