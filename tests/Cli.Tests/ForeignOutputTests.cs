using ModelForge.Core.IO;

namespace ModelForge.Cli.Tests;

/// <summary>
/// No command deletes or overwrites what ModelForge did not write: an output that holds a foreign file is refused
/// with MF5004 and exit 2 and left byte for byte as it was; <c>--force</c> replaces it; ModelForge's own earlier
/// output is replaced without asking.
/// </summary>
public sealed class ForeignOutputTests : IDisposable
{
    private static readonly byte[] UserBytes = "my notes: do not lose these\n"u8.ToArray();
    private readonly ResNetWorkspace _workspace = new("modelforge-foreign-");

    public void Dispose() => _workspace.Dispose();

    public static TheoryData<string> Commands => ["build", "package", "engine", "convert", "validate --report", "validate --save-failures"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_command_pointed_at_a_foreign_output_exits_2_with_MF5004_and_the_files_are_untouched(string command)
    {
        var folder = _workspace.PathOf("mine");
        var userFile = Path.Combine(folder, "notes.txt");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(userFile, UserBytes);
        var arguments = ArgumentsFor(command, folder, userFile);
        var before = Listing(_workspace.Directory);

        var (exitCode, stdout, stderr) = CliRunner.Run(arguments);

        Assert.True(exitCode == 2, stdout + stderr);
        Assert.DoesNotContain("PASSED", stdout);
        Assert.Contains("error MF5004", stderr);
        Assert.Contains(command == "convert" ? "notes.txt' exists and was not written by ModelForge" : "(first: 'notes.txt')", stderr);
        Assert.Contains("--force", stderr);
        Assert.Equal(UserBytes, File.ReadAllBytes(userFile));
        Assert.Equal(before, Listing(_workspace.Directory));
    }

    [Fact]
    public void Package_with_force_replaces_a_foreign_folder_and_replaces_its_own_bundle_without_it()
    {
        var onnx = _workspace.Converted();
        var folder = _workspace.PathOf("bundles");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "notes.txt"), UserBytes);

        var forced = CliRunner.Run([.. ArgumentsFor("package", folder, ""), "--force"]);
        Assert.True(forced.ExitCode == 0, forced.Output + forced.Error);
        Assert.False(File.Exists(Path.Combine(folder, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(folder, OutputOwnership.MarkerFileName)));

        var again = CliRunner.Run(ArgumentsFor("package", folder, ""));
        Assert.True(again.ExitCode == 0, again.Output + again.Error);
        Assert.True(File.Exists(Path.Combine(folder, "triton", "resnet", "config.pbtxt")));
        Assert.True(File.Exists(onnx));
    }

    [Fact]
    public void Validate_replaces_its_own_report_folder_and_with_force_a_foreign_one()
    {
        var reports = _workspace.PathOf("reports");
        var foreign = _workspace.PathOf("notes");
        Directory.CreateDirectory(foreign);
        File.WriteAllBytes(Path.Combine(foreign, "notes.txt"), UserBytes);

        var first = CliRunner.Run(ArgumentsFor("validate --report", reports, ""));
        var second = CliRunner.Run(ArgumentsFor("validate --report", reports, ""));
        var forced = CliRunner.Run([.. ArgumentsFor("validate --report", foreign, ""), "--force"]);

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0 && forced.ExitCode == 0, first.Error + second.Error + forced.Error);
        Assert.Contains($"wrote {Path.Combine(reports, "report.html")}", second.Output);
        foreach (var folder in new[] { reports, foreign })
            Assert.Equal([OutputOwnership.MarkerFileName, "report.html", "report.json", "report.junit.xml"],
                Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Output_dot_inside_a_folder_with_files_is_refused_and_nothing_there_changes()
    {
        var onnx = _workspace.Converted();
        File.WriteAllBytes(_workspace.PathOf("notes.txt"), UserBytes);
        var before = Listing(_workspace.Directory);

        using var process = CliRunner.Start(_workspace.Directory, "package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--tune", "off", "-o", ".");
        process.WaitForExit();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal(before, Listing(_workspace.Directory));
        Assert.Equal(UserBytes, File.ReadAllBytes(_workspace.PathOf("notes.txt")));
    }

    [Fact]
    public void A_user_folder_named_like_a_leftover_staging_folder_survives_a_build()
    {
        var onnx = _workspace.Converted();
        var lookalike = _workspace.PathOf(".bundles.staging-mine");
        Directory.CreateDirectory(lookalike);
        File.WriteAllBytes(Path.Combine(lookalike, "notes.txt"), UserBytes);

        var result = CliRunner.Run("package", onnx, "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--tune", "off", "-o", _workspace.PathOf("bundles"));

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Equal(UserBytes, File.ReadAllBytes(Path.Combine(lookalike, "notes.txt")));
    }

    [Fact]
    public void Convert_overwrites_its_own_onnx_but_not_another_exporters_or_a_folder()
    {
        var onnx = _workspace.Converted();
        Assert.Equal(0, CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", onnx).ExitCode);

        // The first bytes of a model torch.onnx.export wrote: ir_version 7, producer_name "pytorch".
        var exported = _workspace.PathOf("exported.onnx");
        byte[] torchHeader = [0x08, 0x07, 0x12, 0x07, .. "pytorch"u8];
        File.WriteAllBytes(exported, torchHeader);
        var refused = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", exported);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("error MF5004", refused.Error);
        Assert.Equal(torchHeader, File.ReadAllBytes(exported));

        var folder = CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", _workspace.Directory);
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("is a folder", folder.Error);

        Assert.Equal(0, CliRunner.Run("convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", exported, "--force").ExitCode);
        Assert.NotEqual(torchHeader, File.ReadAllBytes(exported));
    }

    /// <summary>The arguments that point <paramref name="command"/> at <paramref name="folder"/> (convert: at the file inside it).</summary>
    private string[] ArgumentsFor(string command, string folder, string userFile) => command switch
    {
        "build" => ["build", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", folder],
        "package" => ["package", ConvertedOnce(), "--input", ResNetWorkspace.Input, "--name", "resnet", "--triton", "--tune", "off", "-o", folder],
        "engine" => ["engine", ConvertedOnce(), "--input", ResNetWorkspace.Input, "--cache", folder],
        "convert" => ["convert", ResNetWorkspace.Model, "--input", ResNetWorkspace.Input, "-o", userFile],
        "validate --report" or "validate --save-failures" =>
            ["validate", ResNetWorkspace.Model, ConvertedOnce(), "--input", ResNetWorkspace.Input, "--batch", "1", "--require", "cpu", command.Split(' ')[1], folder],
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    private string ConvertedOnce() => File.Exists(_workspace.PathOf("resnet.onnx")) ? _workspace.PathOf("resnet.onnx") : _workspace.Converted();

    /// <summary>Every file below the folder with its bytes' hash: what "nothing changed" means.</summary>
    private static List<string> Listing(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetRelativePath(folder, f)} {System.Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}")
            .Order(StringComparer.Ordinal)
            .ToList();
}
