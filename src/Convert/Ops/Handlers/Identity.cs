namespace ModelForge.Convert.Ops.Handlers;

// Identity: ops that lower to no node at all in an inference graph (eval-mode dropout, contiguous, detach, positive,
// resolve_conj/resolve_neg, conj_physical, alias, lift, and clone, whose Identity node only keeps the copy apart while converting).

/// <summary>Eval-mode dropout is the identity: no node at all.</summary>
[AtenOp("aten::dropout", "aten::dropout_", "aten::feature_dropout", "aten::feature_dropout_", "aten::alpha_dropout", "aten::alpha_dropout_",
    "aten::feature_alpha_dropout", "aten::feature_alpha_dropout_")]
internal static class Dropout
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        // Swin's attention calls dropout(x, 0.0, True) even in eval mode: with p = 0 that is the identity too.
        if (a.Bool(2, "train", false) && a.Float(1, "p", 0.5) != 0)
            throw c.Error(Core.Diagnostics.DiagnosticCode.UnsupportedConstruct, "dropout in training mode cannot be exported for inference",
                "call model.eval() before torch.jit.trace / torch.jit.script");
        return a.Tensor(0);
    }
}

/// <summary>
/// <c>detach</c> only leaves autograd;
/// <c>positive(x)</c> (<c>+x</c>) is x; <c>resolve_conj</c>/<c>resolve_neg</c> only materialise the conjugate and negative
/// bits of complex views, which a real tensor never has, and <c>conj_physical</c> conjugates, which changes no real
/// tensor; <c>alias</c> is a view of the whole tensor and <c>lift</c> marks a constant for functionalization. All of them
/// but conj_physical share the tensor's storage in torch too, so an in-place op on the result may well change the input.
/// (ONNX has no memory layout, so none of them needs a node.)
/// </summary>
[AtenOp("aten::detach", "aten::positive", "aten::resolve_conj", "aten::resolve_neg", "aten::conj_physical", "aten::alias", "aten::lift")]
internal static class SameTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => a.Tensor(0);
}

/// <summary>
/// <c>contiguous</c> returns the tensor itself when torch already lays it out contiguously, and a copy otherwise (a
/// slice along a later dim, a transpose): the copy is an Identity node with no view, so an in-place op on it does not
/// change the tensor it was taken from (<c>x[:, 1:].contiguous().add_(1)</c> leaves x alone, as in torch).
/// </summary>
[AtenOp("aten::contiguous")]
internal static class Contiguous
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return Views.IsContiguous(x) ? x : c.Op("Identity", [x], x.Type);
    }
}

/// <summary>
/// <c>clone</c> is a copy: an Identity node, so that an in-place op on the clone (<c>y = x.clone(); y[m] = 0</c>) does
/// not change <c>x</c> as the interpreter tracks mutations per value. RemoveIdentityPass drops the node afterwards.
/// </summary>
[AtenOp("aten::clone")]
internal static class Clone
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.Op("Identity", [a.Tensor(0)], a.Tensor(0).Type);
}
