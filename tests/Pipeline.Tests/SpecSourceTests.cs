using ModelForge.Convert.Ops;
using ModelForge.Convert.Passes;
using ModelForge.Core.Diagnostics;
using ModelForge.Pipeline.Spec;

namespace ModelForge.Pipeline.Tests;

/// <summary>Where a build's spec comes from: a spec file, or a TorchScript file and what the command line declares.</summary>
public class SpecSourceTests
{
    private static readonly string[] Input = ["x:float32[batch,3,64,64]"];

    [Fact]
    public void ATorchScriptFileAndItsDeclaredInputsMakeASpecNamedAfterTheFile()
    {
        using var workspace = new SpecWorkspace();
        var output = Path.Combine(workspace.Directory, "bundle");

        var spec = SpecSource.Load(SpecWorkspace.ResNetModel, new TorchScriptOptions(Input, Opset: 13, Optimize: OptimizeLevel.Basic, ExternalData: true), output);

        Assert.Null(spec.SpecPath);
        Assert.Equal("model", spec.Name);
        Assert.Equal(Path.GetFullPath(SpecWorkspace.ResNetModel), spec.SourcePath);
        Assert.Equal(Input, spec.Inputs.Select(i => i.ToString()));
        Assert.Equal((13, OptimizeLevel.Basic, true), (spec.Opset, spec.Optimize, spec.ExternalData));
        Assert.Equal(output, spec.OutputDirectory);
        Assert.Null(spec.TensorRt);
        Assert.Null(spec.Package);
        Assert.Equal(GateMode.Error, spec.Validation.OnFailure);
    }

    [Fact]
    public void LeftOutOptionsTakeTheDefaultsAndTheOutputIsOutNameInTheCurrentFolder()
    {
        var spec = SpecSource.FromTorchScript(SpecWorkspace.ResNetModel, new TorchScriptOptions(Input));

        Assert.Equal((OpRegistry.DefaultOpset, OptimizeLevel.All, false), (spec.Opset, spec.Optimize, spec.ExternalData));
        Assert.Equal(Path.GetFullPath(Path.Combine("out", "model")), spec.OutputDirectory);
    }

    [Fact]
    public void ASpecFileIsReadAsItIs()
    {
        using var workspace = new SpecWorkspace();
        var path = workspace.Write(SpecWorkspace.ResNetSpec());

        var spec = SpecSource.Load(path, TorchScriptOptions.None);

        Assert.Equal(path, spec.SpecPath);
        Assert.Equal(["x:float32[batch,3,64,64]"], spec.Inputs.Select(i => i.ToString()));
        Assert.Equal(Path.Combine(workspace.Directory, "out", "model"), spec.OutputDirectory);
    }

    [Theory]
    [InlineData("--input", "--input is only for a .pt; a spec declares its inputs in \"inputs\"")]
    [InlineData("--opset", "--opset is only for a .pt; a spec sets it in its \"onnx\" section")]
    [InlineData("--optimize", "--optimize is only for a .pt; a spec sets it in its \"onnx\" section")]
    [InlineData("--external-data", "--external-data is only for a .pt; a spec sets it in its \"onnx\" section")]
    public void WhatOnlyATorchScriptBuildDeclaresIsRefusedBesideASpec(string flag, string message)
    {
        using var workspace = new SpecWorkspace();
        var path = workspace.Write(SpecWorkspace.ResNetSpec());
        var options = flag switch
        {
            "--input" => new TorchScriptOptions(Input),
            "--opset" => new TorchScriptOptions([], Opset: 13),
            "--optimize" => new TorchScriptOptions([], Optimize: OptimizeLevel.None),
            _ => new TorchScriptOptions([], ExternalData: true),
        };

        var error = Assert.Throws<ModelForgeException>(() => SpecSource.Load(path, options));

        Assert.Equal(DiagnosticCode.InputSpecInvalid, error.Code);
        Assert.Equal(message, error.Diagnostics[0].Message);
        Assert.Equal(path, error.Diagnostics[0].Location!.File);
    }

    [Fact]
    public void AMissingModelOrMissingInputsAreRefused()
    {
        using var workspace = new SpecWorkspace();
        var missing = Path.Combine(workspace.Directory, "missing.pt");

        Assert.Equal(DiagnosticCode.FileNotFound, Assert.Throws<ModelForgeException>(() => SpecSource.Load(missing, new TorchScriptOptions(Input))).Code);
        var noInputs = Assert.Throws<ModelForgeException>(() => SpecSource.Load(SpecWorkspace.ResNetModel, TorchScriptOptions.None));
        Assert.Equal(DiagnosticCode.InputSpecInvalid, noInputs.Code);
        Assert.StartsWith("a build from a .pt needs its inputs", noInputs.Diagnostics[0].Message, StringComparison.Ordinal);
    }
}
