# Which files of a labelled repository the field trees hold (sourced by
# fetch.sh and extract_mirror.sh): what the audit reads when it audits a
# checkout. The workflows (.github/workflows/*.yml|yaml, not their
# sub-directories) and every local action (any */action.yml|yaml under
# .github/, also in a sub-directory of .github/workflows/); the scripts a
# step can start (*.sh|*.bash|*.ps1 under .github/, scripts/, script/,
# ci/, tools/, build/ and install/, and those at the top level); the
# package.json files (package scripts), Makefiles, justfiles, Taskfiles and
# tox.ini files up to three directories deep (a step's working-directory, `cd DIR`, `npm
# --prefix DIR`), except under node_modules, vendor and test fixtures; and
# the GoReleaser configuration.
wanted_path() {
    case "$1" in
        .github/*/action.yml|.github/*/action.yaml) return 0 ;;
        .github/workflows/*/*) return 1 ;;
        .github/workflows/*.yml|.github/workflows/*.yaml) return 0 ;;
        package.json|*/package.json|*akefile|*/*akefile|*ustfile|*USTFILE|*[Tt]askfile*.y*ml|tox.ini|*/tox.ini)
            case "$1" in
                */*/*/*/*|node_modules/*|*/node_modules/*|vendor/*|*/vendor/*) return 1 ;;
                test/*|*/test/*|tests/*|*/tests/*|testdata/*|*/testdata/*|*/fixtures/*) return 1 ;;
            esac
            case "${1##*/}" in
                package.json|Makefile|GNUmakefile|makefile) return 0 ;;
                justfile|Justfile|JUSTFILE|.justfile) return 0 ;;
                [Tt]askfile.yml|[Tt]askfile.yaml|[Tt]askfile.dist.yml|[Tt]askfile.dist.yaml) return 0 ;;
                tox.ini) return 0 ;;
            esac
            return 1 ;;
        .goreleaser.yml|.goreleaser.yaml|goreleaser.yml|goreleaser.yaml) return 0 ;;
        .config/goreleaser.yml|.config/goreleaser.yaml) return 0 ;;
        */*.sh|*/*.bash|*/*.ps1)
            case "$1" in
                .github/*|scripts/*|script/*|ci/*|tools/*|build/*|install/*) return 0 ;;
            esac
            return 1 ;;
        *.sh|*.bash|*.ps1) return 0 ;;
    esac
    return 1
}
