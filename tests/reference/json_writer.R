# The JSON writer the reference scripts share (jsonlite does not round-trip doubles).
# Named list -> object; unnamed list -> array; numeric/logical/character
# vector of length 1 -> scalar, longer (or wrapped in I()) -> array.
# NA/NaN/Inf -> null.  Doubles with %.17g (exact round trip).
json_scalar <- function(v) {
  if (is.null(v) || length(v) == 0) return("null")
  if (is.na(v)) return("null")
  if (is.logical(v)) return(if (v) "true" else "false")
  if (is.character(v) || is.factor(v)) {
    s <- as.character(v)
    s <- gsub("\\\\", "\\\\\\\\", s)
    s <- gsub("\"", "\\\\\"", s)
    s <- gsub("\n", "\\\\n", s)
    return(paste0("\"", s, "\""))
  }
  if (is.numeric(v)) {
    if (!is.finite(v)) return("null")
    if (is.integer(v)) return(sprintf("%d", v))
    return(sprintf("%.17g", v))
  }
  stop("cannot write ", class(v))
}
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 2)
  end <- strrep(" ", indent)
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    parts <- vapply(x, to_json, "", indent = indent + 2)
    if (!is.null(names(x))) {
      parts <- paste0(vapply(names(x), json_scalar, ""), ": ", parts)
      return(paste0("{\n", pad, paste(parts, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    return(paste0("[\n", pad, paste(parts, collapse = paste0(",\n", pad)), "\n", end, "]"))
  }
  if (is.matrix(x)) return(to_json(lapply(seq_len(nrow(x)), function(i) I(unname(x[i, ]))), indent))
  force_array <- inherits(x, "AsIs")
  x <- unclass(x)
  if (length(x) == 1 && !force_array) return(json_scalar(unname(x)))
  paste0("[", paste(vapply(unname(as.list(x)), json_scalar, ""), collapse = ", "), "]")
}
