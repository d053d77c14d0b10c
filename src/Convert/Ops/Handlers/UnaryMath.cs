namespace ModelForge.Convert.Ops.Handlers;

// Unary math: pointwise functions of one tensor (neg, abs, exp, sqrt, erf). Each is one ONNX node, declared with
// [Elementwise] (see OpRegistry.cs).

/// <summary><c>neg(x)</c> / <c>-x</c> → Neg (the dtype stays, integers included).</summary>
[AtenOp("aten::neg", "aten::neg_"), Elementwise("Neg")]
internal static class Neg;

/// <summary><c>abs(x)</c> → Abs (the dtype stays, integers included).</summary>
[AtenOp("aten::abs", "aten::abs_"), Elementwise("Abs")]
internal static class Abs;

/// <summary><c>exp(x)</c> → Exp; an integer or bool tensor gives float32, as in torch.</summary>
[AtenOp("aten::exp"), Elementwise("Exp", IntegersToFloat = true)]
internal static class Exp;

/// <summary><c>sqrt(x)</c> → Sqrt; an integer or bool tensor gives float32, as in torch (hand-written LayerNorm).</summary>
[AtenOp("aten::sqrt", "aten::sqrt_"), Elementwise("Sqrt", IntegersToFloat = true)]
internal static class Sqrt;

/// <summary><c>erf(x)</c> → Erf; an integer or bool tensor gives float32, as in torch (hand-written exact GELU).</summary>
[AtenOp("aten::erf", "aten::erf_"), Elementwise("Erf", IntegersToFloat = true)]
internal static class Erf;
